"""Validating inventories into Brightway datasets: parameters, datasets and their exchanges,
links between databases, and the order databases are written in.

Everything is checked before anything is written: units, links, duplicate codes, missing
sources, unknown flows, undefined parameters, uncertainty definitions and the water balance of
every dataset (withdrawal = release + evaporation).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import distributions
from .._resources import fingerprint
from ..errors import AicomputeError, Where
from ..ownership import generation
from ..project import flow_codes
from .formulas import FormulaEvaluator, ParameterError, evaluate_parameters, formula_names
from .templates import expand, inventory_files, read_files

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


@dataclass
class InventoryDatabase:
    """One validated database: datasets keyed by (database, code), parameters by name (each with
    its evaluated `amount` and stats_arrays fields in `_uncertainty`), the databases it links
    to, and the fingerprint of its source."""

    name: str
    datasets: dict[tuple[str, str], dict] = field(default_factory=dict)
    parameters: dict[str, dict] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    depends: set[str] = field(default_factory=set)
    fingerprint: str = ""
    _evaluator: Any = None

    @property
    def evaluator(self) -> FormulaEvaluator:
        """Formula evaluator over this database's (evaluated) parameters."""
        if self._evaluator is None:
            self._evaluator = FormulaEvaluator({n: p["amount"] for n, p in self.parameters.items()})
        return self._evaluator


@dataclass
class Biosphere:
    """The biosphere database exchanges link to: its name, flow ids by (name, categories,
    unit) and flow codes by id."""

    name: str
    flows: dict
    codes: dict[int, str]


def check_parameter(p: dict, where: Where) -> None:
    """Fields of one parameter: name, unit, source, and one of amount or formula."""
    for key in ("name", "unit", "source"):
        if not p.get(key):
            raise where.error(f"parameter needs {key!r}", field=key)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(p["name"])):
        raise where.error(f"parameter name {p['name']!r} is not an identifier", field="name")
    if ("amount" in p) == ("formula" in p):
        raise where.error("parameter needs exactly one of 'amount' or 'formula'", field="amount")
    if "amount" in p and (isinstance(p["amount"], bool) or not isinstance(p["amount"], (int, float))):
        raise where.error(f"amount {p['amount']!r} is not a number", field="amount")


def evaluate_database_parameters(db: InventoryDatabase) -> None:
    """Evaluate the parameters of `db` in place and attach their stats_arrays fields."""
    params = db.parameters
    values = {n: p.get("amount", 0.0) for n, p in params.items() if "formula" not in p}
    formulas = {n: p["formula"] for n, p in params.items() if "formula" in p}
    try:
        evaluate_parameters(values, formulas, db.name)
    except ParameterError as exc:
        where = params[exc.name]["_where"]
        raise where.error(f"formula {formulas[exc.name]!r} cannot be evaluated: {str(exc).rsplit(': ', 1)[-1]}", field="formula") from None
    for name, p in params.items():
        p["amount"] = float(values[name])
        if "formula" in p and not formula_names(p["formula"]):
            # arithmetic of published figures is a value: Brightway and Activity Browser evaluate a
            # formula after drawing, which would replace the draw of its distribution
            p["expression"] = p.pop("formula")
        p["_uncertainty"] = distributions.to_fields(p.get("uncertainty"), p["amount"], p["_where"])


def _amount(exc: dict, db: InventoryDatabase, xw: Where) -> dict:
    """Amount fields of an exchange: the evaluated amount, with its formula where it uses a
    parameter (constant arithmetic such as `35.9 / 24` is stored as its value)."""
    out: dict[str, Any] = {}
    amount = exc["amount"]
    if isinstance(amount, str):
        try:
            value = db.evaluator(amount)
        except Exception as err:
            raise xw.error(f"formula {amount!r} cannot be evaluated: {err}", field="formula") from None
        if formula_names(amount) & set(db.parameters):
            out["formula"] = amount
        else:
            out["comment_amount"] = amount
        amount = value
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount):
        raise xw.error(f"amount {amount!r} is not a finite number", field="amount")
    if amount < 0:
        raise xw.error(f"amount {amount} is negative", field="amount")
    out["amount"] = float(amount)
    if "formula" in out:
        out["original_amount"] = out["amount"]
    return out


def _link(exc: dict, out: dict, db: InventoryDatabase, bio: Biosphere, xw: Where) -> None:
    """Set the input of an exchange: a biosphere flow by [name, [categories]] and unit, or a
    provider by code (in this database) or [database, code]."""
    if "biosphere" in exc:
        spec = exc["biosphere"]
        if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[1], list)):
            raise xw.error("biosphere must be [name, [categories...]]", field="biosphere")
        fname, cats = spec[0], tuple(spec[1])
        flow = bio.flows.get((fname, cats, exc["unit"]))
        if flow is None:
            raise xw.error(f"biosphere flow {fname!r} {list(cats)} in {exc['unit']!r} not found in {bio.name!r}", field="biosphere")
        out.update(input=(bio.name, bio.codes[flow]), type="biosphere", _flow=(fname, cats[0]))
    elif "technosphere" in exc:
        ref = exc["technosphere"]
        target = (ref[0], str(ref[1])) if isinstance(ref, list) else (db.name, str(ref))
        out.update(input=target, type="technosphere")
        if target[0] != db.name:
            db.depends.add(target[0])
    else:
        raise xw.error("needs 'biosphere' or 'technosphere'", field="type")


def build_exchange(exc: Any, db: InventoryDatabase, bio: Biosphere, xw: Where) -> dict:
    """One validated exchange of the inventory format, as Brightway exchange data."""
    if not isinstance(exc, dict):
        raise xw.error("must be a mapping")
    for k in ("amount", "unit", "source"):
        if k not in exc or exc[k] in (None, ""):
            raise xw.error(f"missing field {k!r}", field=k)
    if exc["unit"] not in UNITS and "biosphere" not in exc:
        raise xw.error(f"unit {exc['unit']!r} unknown; use one of {sorted(UNITS)}", field="unit")
    out: dict[str, Any] = {"unit": exc["unit"], "source": exc["source"], **_amount(exc, db, xw)}
    out.update(distributions.to_fields(exc.get("uncertainty"), out["amount"], xw))
    out["comment"] = comment_with_source(" ".join(str(exc.get("comment") or "").split()), exc["source"])
    _link(exc, out, db, bio, xw)
    return out


def comment_with_source(comment: object, source: object) -> str:
    """An exchange's comment that also says its source (Activity Browser shows `comment`, not
    `source`): the source alone where there is no comment; idempotent."""
    comment, source = ("" if comment is None else str(comment)).strip(), ("" if source is None else str(source)).strip()
    if not source or source in comment:
        return comment
    return f"{comment} Source: {source}" if comment else source


def check_water_balance(exchanges: list[dict], where: Where) -> None:
    """Withdrawal = release + evaporation for the water flows of one dataset (1e-6)."""
    water = {"withdrawal": 0.0, "release": 0.0, "evaporation": 0.0}
    for exc in exchanges:
        name, category = exc.get("_flow", ("", ""))
        if not name.startswith("Water"):
            continue
        if (name, category) in WATER_WITHDRAWAL:
            water["withdrawal"] += exc["amount"]
        elif name == "Water" and category == WATER_EVAPORATION_CATEGORY:
            water["evaporation"] += exc["amount"]
        elif name == "Water" and category == WATER_RELEASE_CATEGORY:
            water["release"] += exc["amount"]
    balance = water["withdrawal"] - water["release"] - water["evaporation"]
    scale = max(water.values())
    if scale > 0 and abs(balance) > 1e-6 * scale:
        raise where.error(
            "water does not balance: withdrawal {withdrawal:.6g} m3 != release {release:.6g} + evaporation {evaporation:.6g} m3".format(**water),
            field="amount",
        )


def add_dataset(db: InventoryDatabase, ds: dict, where: Where, bio: Biosphere, exchange_where: list[Where] | None = None) -> None:
    """Validate one dataset of the inventory format and add it to `db`.

    `exchange_where` gives the place of each exchange (workbook rows); by default the exchange's
    number in the dataset."""
    for key in ("code", "name", "unit", "exchanges", "comment"):
        if key not in ds:
            raise where.error(f"missing field {key!r}", field=key)
    if ds["unit"] not in UNITS:
        raise where.error(f"unit {ds['unit']!r} unknown; use one of {sorted(UNITS)}", field="unit")
    key = (db.name, str(ds["code"]))
    if key in db.datasets:
        raise where.error("duplicate code", field="code")
    exchanges = [{"input": key, "amount": 1.0, "type": "production", "unit": ds["unit"]}]
    for j, exc in enumerate(ds["exchanges"]):
        xw = exchange_where[j] if exchange_where else where.at(what=f"{where.what}, exchange {j + 1}")
        exchanges.append(build_exchange(exc, db, bio, xw))
    check_water_balance(exchanges, where)
    for exc in exchanges:
        exc.pop("_flow", None)
    db.datasets[key] = {
        "name": ds["name"],
        "reference product": ds.get("reference product", ds["name"]),
        "unit": ds["unit"],
        "location": str(ds.get("location", "GLO")),
        "comment": " ".join(str(ds["comment"]).split()),
        "type": "process",
        "exchanges": exchanges,
        **({"classifications": ds["classifications"]} if ds.get("classifications") else {}),
        **{k: ds[k] for k in ("stage", "tags", "located_water") if k in ds},
    }


def add_located_water(dbs: dict[str, InventoryDatabase], bio: Biosphere) -> None:
    """Give every dataset marked `located_water: true` the location flow of the water it
    consumes at its location (see `bw_aicompute.water.tag`): one, whatever it carried before."""
    from ..water import located_key, own_water, tag, water_to_air_keys

    datasets = {k: ds for db in dbs.values() for k, ds in db.datasets.items()}
    water_keys = water_to_air_keys(bio.name, bio.flows, bio.codes)
    own = {k: own_water(ds["exchanges"], water_keys) for k, ds in datasets.items()}
    tagged = {k for k, ds in datasets.items() if ds.get("located_water") and located_key(ds["location"])}
    for key in sorted(tagged):
        ds = datasets[key]
        ds["exchanges"] = tag(ds["exchanges"], ds["location"], water_keys, own, tagged, "water consumed by this dataset and its generation technologies")


def check_links(dbs: dict[str, InventoryDatabase]) -> None:
    """Every technosphere link names an existing provider with the same unit."""
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


def ordered(dbs: dict[str, InventoryDatabase]) -> list[InventoryDatabase]:
    """Databases in writing order: each after the databases it links to."""
    done: list[InventoryDatabase] = []
    remaining = dict(dbs)
    while remaining:
        ready = [d for d in remaining.values() if d.depends <= {x.name for x in done}]
        if not ready:
            raise AicomputeError(f"circular dependencies between inventory databases {sorted(remaining)}")
        for d in sorted(ready, key=lambda d: d.name):
            done.append(remaining.pop(d.name))
    return done


#: Changes when what the loader writes for the same files changes (2: parameters keep their
#: formulas; 3: a formula of numbers only is the parameter's amount, its arithmetic kept as
#: `expression`; campaigns use the foreground's parameters), so that `aicompute setup` rewrites
#: projects set up before.
WRITER_VERSION = "3"


def inventories_fingerprint(biosphere: str, directory: Path | None = None) -> str:
    """One fingerprint over all inventory files: any change rewrites every inventory database,
    so that a database linking to a rewritten one (new node ids) is rewritten too."""
    from ..classifications import rules_text
    from ..water import LOCATED_DB

    files = (p.name + "\n" + p.read_text(encoding="utf-8") for p in inventory_files(directory))
    return fingerprint("inventory", WRITER_VERSION, generation(biosphere), generation(LOCATED_DB), rules_text(), *files)


def load(flows: dict, biosphere: str, directory: Path | None = None) -> list[InventoryDatabase]:
    """Parse, expand and validate every inventory file; return the databases in writing order.

    Parameters
    ----------
    flows : dict
        (name, categories, unit) -> biosphere node id (see `bw_aicompute.project.flow_index`).
    biosphere : str
        The biosphere database name.
    directory : Path, optional
        The inventory folder (default: the shipped `inventories/`).
    """
    bio = Biosphere(biosphere, flows, flow_codes(biosphere))
    docs, tables = read_files(directory)
    dbs: dict[str, InventoryDatabase] = {}
    raw_datasets: list[tuple[InventoryDatabase, dict, Where]] = []
    for path, doc in docs:
        db = dbs.setdefault(doc["database"], InventoryDatabase(doc["database"]))
        db.files.append(path)
        for p, where in expand(doc.get("parameters"), tables, path, "parameter"):
            check_parameter(p, where)
            if p["name"] in db.parameters:
                raise where.error(f"parameter {p['name']!r} defined twice in database {db.name!r}")
            db.parameters[p["name"]] = {**p, "_where": where}
        raw_datasets += [(db, ds, where) for ds, where in expand(doc.get("datasets"), tables, path, "dataset")]
    for db in dbs.values():
        evaluate_database_parameters(db)
    for db, ds, where in raw_datasets:
        add_dataset(db, ds, where, bio)
    add_located_water(dbs, bio)
    check_links(dbs)
    result = ordered(dbs)
    fp = inventories_fingerprint(biosphere, directory)
    for db in result:
        db.fingerprint = fp
    return result
