"""Load the inventories of `inventories/`, validate them, and write them as Brightway databases.

`inventories/*.yaml` are the single source of truth (see `inventories/README.md` for the format).
Each file belongs to one database and holds:

* `tables`: named lists of rows, used to repeat a template (a country list, the GPU models);
* `parameters`: database parameters (a number or a formula over other parameters of the same
  database), each with unit, source and, where the source gives a range, an uncertainty;
* `datasets`: activities with their exchanges (biosphere flows by (name, categories, unit),
  technosphere providers by code), each exchange with amount (a number or a formula), unit and
  source. A dataset or a parameter with `for_each: TABLE` is repeated for every row of the table,
  `{column}` in its strings being replaced by the row's value.

The loader evaluates every formula with Brightway's own parameter machinery (bw2parameters and
the asteval interpreter of bw2data), so the amounts written equal what
`bw2data.parameters.recalculate()` gives, and registers the parameters and parameterized
exchanges in the project so that a user can change a parameter in Brightway or Activity Browser.
Everything is checked before anything is written: units, links, duplicate codes, missing
sources, unknown flows, undefined parameters, uncertainty definitions and the water balance of
every dataset (withdrawal = release + evaporation).
"""

from __future__ import annotations

import ast
import functools
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._resources import data_dir, fingerprint
from .errors import AicomputeError
from .methods import OWNER_KEY

#: Units accepted for datasets and exchanges (Brightway's normalized names).
UNITS = {
    "unit",
    "kilogram",
    "kilowatt hour",
    "megajoule",
    "cubic meter",
    "standard cubic meter",
    "square centimeter",
    "square meter",
    "gigabyte",
    "terabyte year",
    "kilowatt year",
    "ton kilometer",
    "hour",
    "kilogram CO2-Eq",
}

#: Biosphere flows that make up the water balance of a dataset, by (name, first category).
WATER_WITHDRAWAL = {
    ("Water, unspecified natural origin", "natural resource"),
    ("Water, cooling, unspecified natural origin", "natural resource"),
    ("Water, river", "natural resource"),
    ("Water, lake", "natural resource"),
    ("Water, well, in ground", "natural resource"),
}
WATER_EVAPORATION_CATEGORY = "air"
WATER_RELEASE_CATEGORY = "water"

UNCERTAINTY_TYPES = {"lognormal": 2, "normal": 3, "uniform": 4, "triangular": 5}
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class InventoryDatabase:
    name: str
    datasets: dict[tuple[str, str], dict] = field(default_factory=dict)
    parameters: dict[str, dict] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    depends: set[str] = field(default_factory=set)
    fingerprint: str = ""
    _evaluator: Any = None

    @property
    def evaluator(self) -> "FormulaEvaluator":
        """Formula evaluator over this database's (evaluated) parameters."""
        if self._evaluator is None:
            self._evaluator = FormulaEvaluator({n: p["amount"] for n, p in self.parameters.items()})
        return self._evaluator


class _Where:
    """Where in the files a value came from, for error messages."""

    def __init__(self, path: Path, what: str):
        self.path, self.what = path, what

    def error(self, problem: str) -> AicomputeError:
        return AicomputeError(f"inventories/{self.path.name}: {self.what}: {problem}")


def inventory_files(directory: Path | None = None) -> list[Path]:
    directory = directory or data_dir("inventories")
    return sorted(directory.glob("*.yaml"))


# ---------------------------------------------------------------------------------------------
# templates


def _substitute(value: Any, row: dict, where: _Where) -> Any:
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            if whole.group(1) not in row:
                raise where.error(f"placeholder {value} has no column in the table")
            return row[whole.group(1)]

        def repl(m):
            if m.group(1) not in row:
                raise where.error(f"placeholder {{{m.group(1)}}} has no column in the table")
            return str(row[m.group(1)])

        return _PLACEHOLDER.sub(repl, value)
    if isinstance(value, list):
        return [_substitute(v, row, where) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, row, where) for k, v in value.items()}
    return value


def _expand(items: list, tables: dict, path: Path, kind: str) -> list[tuple[dict, _Where]]:
    out = []
    for i, item in enumerate(items or []):
        if not isinstance(item, dict):
            raise _Where(path, f"{kind} #{i + 1}").error("must be a mapping")
        label = item.get("code", item.get("name", f"#{i + 1}"))
        where = _Where(path, f"{kind} {label!r}")
        if "for_each" not in item:
            out.append((item, where))
            continue
        names = item["for_each"] if isinstance(item["for_each"], list) else [item["for_each"]]
        for table in names:
            if table not in tables:
                raise where.error(f"for_each names unknown table {table!r}; known: {sorted(tables)}")
        body = {k: v for k, v in item.items() if k != "for_each"}
        table = " x ".join(names)
        for combo in itertools.product(*(tables[t] for t in names)):
            row: dict = {}
            for part in combo:
                clash = set(row) & set(part)
                if clash:
                    raise where.error(f"tables {names} share the columns {sorted(clash)}")
                row.update(part)
            expanded = _substitute(body, row, where)
            label = expanded.get("code", expanded.get("name"))
            out.append((expanded, _Where(path, f"{kind} {label!r} (from template {item.get('code', item.get('name'))!r}, table {table!r})")))
    return out


# ---------------------------------------------------------------------------------------------
# parameters and formulas


def _interpreter():
    from bw2data.parameters import get_interpreter

    return get_interpreter()


def _uncertainty(spec: dict | None, amount: float, where: _Where) -> dict:
    """stats_arrays fields for an `uncertainty:` mapping of the YAML files."""
    if not spec:
        return {}
    kind = spec.get("type")
    if kind not in UNCERTAINTY_TYPES:
        raise where.error(f"uncertainty type {kind!r} unknown; use one of {sorted(UNCERTAINTY_TYPES)}")
    out = {"uncertainty type": UNCERTAINTY_TYPES[kind]}
    try:
        if kind == "lognormal":
            if amount <= 0 or float(spec["gsd"]) <= 1:
                raise where.error("lognormal needs a positive amount and gsd > 1")
            out.update(loc=math.log(amount), scale=math.log(float(spec["gsd"])))
        elif kind == "normal":
            out.update(loc=amount, scale=float(spec["sd"]))
        else:
            lo, hi = float(spec["minimum"]), float(spec["maximum"])
            if not lo <= amount <= hi or lo == hi:
                raise where.error(f"{kind} range [{lo}, {hi}] must contain the amount {amount} and not be empty")
            out.update(loc=amount, minimum=lo, maximum=hi)
    except KeyError as exc:
        raise where.error(f"{kind} uncertainty needs {exc.args[0]!r}") from None
    if spec.get("source"):
        out["uncertainty source"] = spec["source"]
    return out


def _evaluate_parameters(params: dict[str, dict], db: str) -> None:
    """Evaluate the database parameters of one database in place (dependency order)."""
    from bw2parameters import ParameterSet
    from bw2parameters.errors import ParameterError

    data = {name: {"amount": p.get("amount", 0.0), **({"formula": p["formula"]} if "formula" in p else {})} for name, p in params.items()}
    try:
        ParameterSet(data, interpreter=_interpreter()).evaluate_and_set_amount_field()
    except (ParameterError, Exception) as exc:  # bw2parameters raises several types
        raise AicomputeError(f"database {db!r}: parameters cannot be evaluated: {exc}") from None
    for name, p in params.items():
        p["amount"] = float(data[name]["amount"])


def formula_names(formula: str) -> set[str]:
    """Names used in a formula (parameters and functions such as `sqrt`)."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def evaluate_formula(formula: str, symbols: dict[str, Any]):
    """Evaluate an exchange formula with the given parameter values (numbers or numpy arrays)."""
    return FormulaEvaluator(symbols)(formula)


class FormulaEvaluator:
    """One interpreter for many formulas over the same symbols (creating one is slow)."""

    def __init__(self, symbols: dict[str, Any]):
        self.interp = _interpreter()
        self.interp.symtable.update(symbols)

    def __call__(self, formula: str):
        self.interp.error = []
        value = self.interp(formula)
        if self.interp.error:
            msg = self.interp.error[0].get_error()
            raise ValueError(f"{msg[0]}: {msg[1]}")
        return value


# ---------------------------------------------------------------------------------------------
# loading


def _read_files(directory: Path | None = None) -> tuple[list[tuple[Path, dict]], dict[str, list[dict]]]:
    """Parse every inventory file; return the documents and the tables of all files."""
    docs = []
    tables: dict[str, list] = {}
    for path in inventory_files(directory):
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        except yaml.YAMLError as exc:
            raise AicomputeError(f"inventories/{path.name}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict) or "database" not in doc:
            raise _Where(path, "top level").error("needs the key 'database'")
        for name, rows in (doc.get("tables") or {}).items():
            if name in tables:
                raise _Where(path, f"table {name!r}").error("defined twice")
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise _Where(path, f"table {name!r}").error("must be a list of mappings")
            tables[name] = rows
        docs.append((path, doc))
    return docs, tables


def tables(directory: Path | None = None) -> dict[str, list[dict]]:
    """The named tables of the inventory files (GPU models, countries, facility profiles...).
    Cached per folder while the files are unchanged; treat the result as read-only."""
    files = inventory_files(directory)
    signature = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return _tables_cached(str(directory or data_dir("inventories")), signature)


@functools.lru_cache(maxsize=8)
def _tables_cached(directory: str, signature: tuple) -> dict[str, list[dict]]:
    return _read_files(Path(directory))[1]


def load(flows: dict, biosphere: str, directory: Path | None = None) -> list[InventoryDatabase]:
    """Parse, expand and validate every inventory file; return the databases in writing order.

    `flows` maps (name, categories, unit) to biosphere node ids (see `project.flow_index`).
    """
    from bw2data.backends import ActivityDataset as AD

    code_of = {id_: code for id_, code in AD.select(AD.id, AD.code).where(AD.database == biosphere).tuples()}
    docs, tables = _read_files(directory)

    dbs: dict[str, InventoryDatabase] = {}
    raw_datasets: list[tuple[InventoryDatabase, dict, _Where]] = []
    for path, doc in docs:
        db = dbs.setdefault(doc["database"], InventoryDatabase(doc["database"]))
        db.files.append(path)
        for p, where in _expand(doc.get("parameters"), tables, path, "parameter"):
            _check_parameter(p, where)
            if p["name"] in db.parameters:
                raise where.error(f"parameter {p['name']!r} defined twice in database {db.name!r}")
            db.parameters[p["name"]] = {**p, "_where": where}
        for ds, where in _expand(doc.get("datasets"), tables, path, "dataset"):
            raw_datasets.append((db, ds, where))

    for db in dbs.values():
        _evaluate_parameters(db.parameters, db.name)
        for p in db.parameters.values():
            p["_uncertainty"] = _uncertainty(p.get("uncertainty"), p["amount"], p["_where"])

    for db, ds, where in raw_datasets:
        _add_dataset(db, ds, where, flows, biosphere, code_of)

    _check_links(dbs)
    ordered = _ordered(dbs)
    fp = inventories_fingerprint(biosphere, directory)
    for db in ordered:
        db.fingerprint = fp
    return ordered


def inventories_fingerprint(biosphere: str, directory: Path | None = None) -> str:
    """One fingerprint over all inventory files: any change rewrites every inventory database,
    so that a database linking to a rewritten one (new node ids) is rewritten too."""
    return fingerprint("inventory", biosphere, *(p.name + "\n" + p.read_text(encoding="utf-8") for p in inventory_files(directory)))


def _check_parameter(p: dict, where: _Where) -> None:
    for key in ("name", "unit", "source"):
        if not p.get(key):
            raise where.error(f"parameter needs {key!r}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(p["name"])):
        raise where.error(f"parameter name {p['name']!r} is not an identifier")
    if ("amount" in p) == ("formula" in p):
        raise where.error("parameter needs exactly one of 'amount' or 'formula'")
    if "amount" in p and (isinstance(p["amount"], bool) or not isinstance(p["amount"], (int, float))):
        raise where.error(f"amount {p['amount']!r} is not a number")


def _add_dataset(
    db: InventoryDatabase, ds: dict, where: _Where, flows: dict, biosphere: str, code_of: dict, exchange_where: list | None = None
) -> None:
    for key in ("code", "name", "unit", "exchanges", "comment"):
        if key not in ds:
            raise where.error(f"missing field {key!r}")
    if ds["unit"] not in UNITS:
        raise where.error(f"unit {ds['unit']!r} unknown; use one of {sorted(UNITS)}")
    key = (db.name, str(ds["code"]))
    if key in db.datasets:
        raise where.error("duplicate code")
    evaluate = db.evaluator
    exchanges = [{"input": key, "amount": 1.0, "type": "production", "unit": ds["unit"]}]
    water = {"withdrawal": 0.0, "release": 0.0, "evaporation": 0.0}
    for j, exc in enumerate(ds["exchanges"]):
        xw = exchange_where[j] if exchange_where else _Where(where.path, f"{where.what}, exchange {j + 1}")
        if not isinstance(exc, dict):
            raise xw.error("must be a mapping")
        for k in ("amount", "unit", "source"):
            if k not in exc or exc[k] in (None, ""):
                raise xw.error(f"missing field {k!r}")
        if exc["unit"] not in UNITS and "biosphere" not in exc:
            raise xw.error(f"unit {exc['unit']!r} unknown; use one of {sorted(UNITS)}")
        out: dict[str, Any] = {"unit": exc["unit"], "source": exc["source"]}
        amount = exc["amount"]
        if isinstance(amount, str):
            try:
                value = evaluate(amount)
            except Exception as err:
                raise xw.error(f"formula {amount!r} cannot be evaluated: {err}") from None
            if formula_names(amount) & set(db.parameters):
                out["formula"] = amount  # constant arithmetic ("35.9 / 24") is stored as its value
            else:
                out["comment_amount"] = amount
            amount = value
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount):
            raise xw.error(f"amount {amount!r} is not a finite number")
        if amount < 0:
            raise xw.error(f"amount {amount} is negative")
        out["amount"] = float(amount)
        if "formula" in out:
            out["original_amount"] = out["amount"]
        out.update(_uncertainty(exc.get("uncertainty"), out["amount"], xw))
        if exc.get("comment"):
            out["comment"] = " ".join(str(exc["comment"]).split())
        if "biosphere" in exc:
            spec = exc["biosphere"]
            if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[1], list)):
                raise xw.error("biosphere must be [name, [categories...]]")
            fname, cats = spec[0], tuple(spec[1])
            flow = flows.get((fname, cats, exc["unit"]))
            if flow is None:
                raise xw.error(f"biosphere flow {fname!r} {list(cats)} in {exc['unit']!r} not found in {biosphere!r}")
            out.update(input=(biosphere, code_of[flow]), type="biosphere")
            if fname.startswith("Water"):
                if (fname, cats[0]) in WATER_WITHDRAWAL:
                    water["withdrawal"] += out["amount"]
                elif fname == "Water" and cats[0] == WATER_EVAPORATION_CATEGORY:
                    water["evaporation"] += out["amount"]
                elif fname == "Water" and cats[0] == WATER_RELEASE_CATEGORY:
                    water["release"] += out["amount"]
        elif "technosphere" in exc:
            ref = exc["technosphere"]
            target = (ref[0], str(ref[1])) if isinstance(ref, list) else (db.name, str(ref))
            out.update(input=target, type="technosphere")
            if target[0] != db.name:
                db.depends.add(target[0])
        else:
            raise xw.error("needs 'biosphere' or 'technosphere'")
        exchanges.append(out)
    balance = water["withdrawal"] - water["release"] - water["evaporation"]
    scale = max(water.values())
    if scale > 0 and abs(balance) > 1e-6 * scale:
        raise where.error(
            "water does not balance: withdrawal {withdrawal:.6g} m3 != release {release:.6g} + evaporation {evaporation:.6g} m3".format(**water)
        )
    db.datasets[key] = {
        "name": ds["name"],
        "reference product": ds.get("reference product", ds["name"]),
        "unit": ds["unit"],
        "location": str(ds.get("location", "GLO")),
        "comment": " ".join(str(ds["comment"]).split()),
        "type": "process",
        "exchanges": exchanges,
        **({"classifications": ds["classifications"]} if ds.get("classifications") else {}),
        **{k: ds[k] for k in ("stage", "tags") if k in ds},
    }


def _check_links(dbs: dict[str, InventoryDatabase]) -> None:
    all_keys = {k: ds for db in dbs.values() for k, ds in db.datasets.items()}
    for db in dbs.values():
        for key, ds in db.datasets.items():
            for exc in ds["exchanges"]:
                if exc["type"] != "technosphere":
                    continue
                target = all_keys.get(exc["input"])
                if target is None:
                    raise AicomputeError(f"database {db.name!r}, dataset {key[1]!r}: unknown provider {list(exc['input'])}")
                if target["unit"] != exc["unit"]:
                    raise AicomputeError(
                        f"database {db.name!r}, dataset {key[1]!r}: unit {exc['unit']!r} of the link to "
                        f"{exc['input'][1]!r} differs from the provider's unit {target['unit']!r}"
                    )


def _ordered(dbs: dict[str, InventoryDatabase]) -> list[InventoryDatabase]:
    done: list[InventoryDatabase] = []
    remaining = dict(dbs)
    while remaining:
        ready = [d for d in remaining.values() if d.depends <= {x.name for x in done}]
        if not ready:
            raise AicomputeError(f"circular dependencies between inventory databases {sorted(remaining)}")
        for d in sorted(ready, key=lambda d: d.name):
            done.append(remaining.pop(d.name))
    return done


# ---------------------------------------------------------------------------------------------
# writing


def _clear_parameters(db_name: str) -> None:
    """Remove the parameters and parameterized exchanges that bw_aicompute wrote for `db_name`."""
    from bw2data.parameters import (
        ActivityParameter,
        DatabaseParameter,
        Group,
        GroupDependency,
        ParameterizedExchange,
        parameters,
    )

    prefix = f"{db_name}::"
    with parameters.db.atomic():
        groups = [g.name for g in Group.select(Group.name).where(Group.name.startswith(prefix))]
        if groups:
            ParameterizedExchange.delete().where(ParameterizedExchange.group.in_(groups)).execute()
            ActivityParameter.delete().where(ActivityParameter.group.in_(groups)).execute()
            GroupDependency.delete().where(GroupDependency.group.in_(groups)).execute()
            Group.delete().where(Group.name.in_(groups)).execute()
        DatabaseParameter.delete().where(DatabaseParameter.database == db_name).execute()
        GroupDependency.delete().where(GroupDependency.group == db_name).execute()
        Group.delete().where(Group.name == db_name).execute()


def _write_parameters(bd, db: InventoryDatabase) -> None:
    """Register database parameters and parameterized exchanges in bulk (bw2data's per-activity
    API takes seconds for a few hundred activities). Amounts are already evaluated, so groups
    are written fresh; `bw2data.parameters.recalculate()` after a user's change updates them."""
    from bw2data.backends import ExchangeDataset as ED
    from bw2data.parameters import (
        ActivityParameter,
        DatabaseParameter,
        Group,
        GroupDependency,
        ParameterizedExchange,
        parameters,
    )

    _clear_parameters(db.name)
    rows = []
    for name, p in db.parameters.items():
        data = {k: v for k, v in p.items() if not k.startswith("_") and k not in ("name", "amount", "formula", "uncertainty")}
        data.update(p["_uncertainty"])
        row = {"database": db.name, "name": name, "amount": p["amount"], "data": data}
        if "formula" in p:
            row["formula"] = p["formula"]
        rows.append(row)
    formula_codes = {code for (_, code), ds in db.datasets.items() if any("formula" in e for e in ds["exchanges"])}
    with parameters.db.atomic():
        if rows:
            DatabaseParameter.insert_many(rows).execute()
        Group.insert(name=db.name, fresh=True, order=[]).execute()
        if not formula_codes:
            return
        groups = {code: f"{db.name}::{code}" for code in formula_codes}
        Group.insert_many([{"name": g, "fresh": True, "order": []} for g in groups.values()]).execute()
        GroupDependency.insert_many([{"group": g, "depends": db.name} for g in groups.values()]).execute()
        # bw2data's add_exchanges_to_group marks a group with a dummy activity parameter
        ActivityParameter.insert_many(
            [
                {"group": g, "database": db.name, "code": code, "name": f"__dummy_{i}__", "amount": 0, "data": {}}
                for i, (code, g) in enumerate(groups.items())
            ]
        ).execute()
        pexc = []
        query = (
            ED.select(ED.id, ED.output_code, ED.data)
            .where(ED.output_database == db.name, ED.output_code.in_(list(formula_codes)))
            .tuples()
        )
        for exc_id, code, data in query:
            if "formula" in data:
                pexc.append({"group": groups[code], "exchange": exc_id, "formula": data["formula"]})
        for i in range(0, len(pexc), 500):
            ParameterizedExchange.insert_many(pexc[i : i + 500]).execute()


def imported_from(meta: dict) -> str | None:
    """The workbook a database was imported from with `aicompute import-inventories`, if any."""
    owner = meta.get(OWNER_KEY) if isinstance(meta, dict) else None
    return owner.get("imported_from") if isinstance(owner, dict) else None


def install(bd, biosphere: str, report, directory: Path | None = None, reinstall: bool = False) -> None:
    """Write the inventory databases that are missing or out of date (see `project.setup_project`).
    A database imported from a user's workbook is kept unless `reinstall`."""
    from .project import _state, flow_index

    files = inventory_files(directory)
    if not files:
        return
    # fast path: every database named by the files is installed from these very files
    fp = inventories_fingerprint(biosphere, directory)
    names = set()
    for path in files:
        m = re.search(r"^database:\s*(\S+)\s*$", path.read_text(encoding="utf-8"), re.MULTILINE)
        names.add(m.group(1).strip("'\"") if m else "")
    kept = set() if reinstall else {n for n in names if n in bd.databases and imported_from(bd.databases[n])}
    for name in sorted(kept):
        report.add("database", name, "kept", f"imported from {imported_from(bd.databases[name])}; aicompute setup --reinstall restores the shipped data")
    if all(_state(bd.databases, n, fp) == "current" for n in names - kept):
        for name in sorted(names - kept):
            report.add("database", name, "present", f"{bd.databases[name].get('number', 0)} datasets")
        return
    databases = load(flow_index(biosphere), biosphere, directory)
    databases = [db for db in databases if db.name not in kept]
    for db in databases:
        if _state(bd.databases, db.name, db.fingerprint) == "foreign":
            raise AicomputeError(
                f"database {db.name!r} exists in project {bd.projects.current!r} and was not created by "
                "bw_aicompute; it is left untouched. Use another project (--project NAME)."
            )
    rewritten = set()
    for db in databases:
        state = _state(bd.databases, db.name, db.fingerprint)
        if state == "current":
            report.add("database", db.name, "present", f"{len(db.datasets)} datasets, {len(db.parameters)} parameters")
            continue
        write_database(bd, db, biosphere)
        rewritten.add(db.name)
        report.add(
            "database", db.name, "installed" if state == "absent" else "updated", f"{len(db.datasets)} datasets, {len(db.parameters)} parameters"
        )
    refresh_dependants(bd, rewritten, report)


def refresh_dependants(bd, rewritten: set[str], report) -> None:
    """A rewritten database gets new node ids, so the processed arrays of the databases that
    link to it are stale. bw_aicompute's own (campaigns, linked copies) are re-processed; a
    user's are only reported (their files are not touched)."""
    for name in sorted(bd.databases):
        if name in rewritten or not rewritten & set(bd.databases[name].get("depends", [])):
            continue
        if OWNER_KEY in bd.databases[name]:
            bd.Database(name).process()
            report.add("database", name, "updated", "re-processed: links to a rewritten database")
        else:
            report.add("database", name, "stale", f"links to a rewritten database; re-process it: bw2data.Database({name!r}).process()")


def write_database(bd, db: InventoryDatabase, biosphere: str, **mark) -> None:
    """Write one validated database with its parameters: marked `installing` first, `complete`
    last, so that an interrupted write is completed by the next run."""
    from .project import write_owned

    meta = {
        "format": "bw_aicompute inventories (YAML)",
        "depends": sorted(db.depends | {biosphere}),
        "license": "CC BY-SA 4.0 (see inventories/LICENSE.md)",
    }
    def write() -> None:
        bd.Database(db.name).write(db.datasets)
        _write_parameters(bd, db)

    write_owned(bd.databases, bd.Database(db.name), db.name, meta, db.fingerprint, write, **mark)
