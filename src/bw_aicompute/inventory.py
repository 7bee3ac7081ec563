"""Load the inventories of `inventories/` (YAML, one file per dataset family), validate them and
write them as Brightway databases.

File layout::

    database: aicompute-background        # the database the datasets of this file belong to
    datasets:
      - code: electricity-FR               # unique within the database
        name: electricity, grid mix
        reference product: electricity, low voltage
        unit: kilowatt hour
        location: FR
        comment: ...
        exchanges:
          - biosphere: [Carbon dioxide, fossil, [air]]   # flow (name, categories)
            unit: kilogram
            amount: 0.056
            source: "Ember yearly electricity data 2023, via codecarbon 3.3.2 global_energy_mix.json"
          - technosphere: other-code                     # or [database, code]
            unit: kilowatt hour
            amount: 1.2
            source: ...

Everything is validated before anything is written; an error names the file, the dataset and
the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ._resources import data_dir, fingerprint
from .errors import AicomputeError
from .methods import OWNER_KEY


@dataclass
class InventoryDatabase:
    name: str
    datasets: dict[tuple[str, str], dict] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    depends: set[str] = field(default_factory=set)
    fingerprint: str = ""


def _err(path: Path, where: str, problem: str) -> AicomputeError:
    return AicomputeError(f"{path.name}: {where}: {problem}")


def inventory_files(directory: Path | None = None) -> list[Path]:
    directory = directory or data_dir("inventories")
    return sorted(directory.glob("*.yaml"))


def load(flows: dict, biosphere: str, directory: Path | None = None) -> list[InventoryDatabase]:
    """Parse and validate every inventory file; return the databases in writing order.

    `flows` maps (name, categories, unit) to biosphere node ids (see `project.flow_index`).
    """
    from bw2data.backends import ActivityDataset as AD

    code_of = {id_: code for id_, code in AD.select(AD.id, AD.code).where(AD.database == biosphere).tuples()}
    dbs: dict[str, InventoryDatabase] = {}
    for path in inventory_files(directory):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise AicomputeError(f"{path.name}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict) or "database" not in doc or "datasets" not in doc:
            raise _err(path, "top level", "needs the keys 'database' and 'datasets'")
        db = dbs.setdefault(doc["database"], InventoryDatabase(doc["database"]))
        db.files.append(path)
        for i, ds in enumerate(doc["datasets"] or []):
            where = f"dataset {ds.get('code', f'#{i + 1}')!r}"
            for key in ("code", "name", "unit", "exchanges"):
                if key not in ds:
                    raise _err(path, where, f"missing field {key!r}")
            key = (db.name, str(ds["code"]))
            if key in db.datasets:
                raise _err(path, where, "duplicate code")
            exchanges = [{"input": key, "amount": 1.0, "type": "production", "unit": ds["unit"]}]
            for j, exc in enumerate(ds["exchanges"]):
                xwhere = f"{where}, exchange {j + 1}"
                for k in ("amount", "unit", "source"):
                    if k not in exc or exc[k] in (None, ""):
                        raise _err(path, xwhere, f"missing field {k!r}")
                amount = exc["amount"]
                if isinstance(amount, bool) or not isinstance(amount, (int, float)):
                    raise _err(path, xwhere, f"amount {amount!r} is not a number")
                out = {"amount": float(amount), "unit": exc["unit"], "source": exc["source"]}
                if exc.get("comment"):
                    out["comment"] = exc["comment"]
                if "biosphere" in exc:
                    fname, cats = exc["biosphere"][0], tuple(exc["biosphere"][1])
                    flow = flows.get((fname, cats, exc["unit"]))
                    if flow is None:
                        raise _err(path, xwhere, f"biosphere flow {fname!r} {list(cats)} in {exc['unit']} not found in {biosphere!r}")
                    out.update(input=(biosphere, code_of[flow]), type="biosphere")
                elif "technosphere" in exc:
                    ref = exc["technosphere"]
                    target = (ref[0], str(ref[1])) if isinstance(ref, list) else (db.name, str(ref))
                    out.update(input=target, type="technosphere")
                    if target[0] != db.name:
                        db.depends.add(target[0])
                else:
                    raise _err(path, xwhere, "needs 'biosphere' or 'technosphere'")
                exchanges.append(out)
            db.datasets[key] = {
                "name": ds["name"],
                "reference product": ds.get("reference product", ds["name"]),
                "unit": ds["unit"],
                "location": ds.get("location", "GLO"),
                "comment": ds.get("comment", ""),
                "type": "process",
                "exchanges": exchanges,
            }
    # links between datasets, and units of technosphere links
    all_keys = {k: ds for db in dbs.values() for k, ds in db.datasets.items()}
    for db in dbs.values():
        for key, ds in db.datasets.items():
            for exc in ds["exchanges"]:
                if exc["type"] == "technosphere":
                    target = all_keys.get(exc["input"])
                    if target is None:
                        raise AicomputeError(f"{db.name}: dataset {key[1]!r}: unknown provider {list(exc['input'])}")
                    if target["unit"] != exc["unit"]:
                        raise AicomputeError(
                            f"{db.name}: dataset {key[1]!r}: unit {exc['unit']!r} of the link to {exc['input'][1]!r} differs from the provider's {target['unit']!r}"
                        )
    ordered = _ordered(dbs)
    # a database's fingerprint covers those it links to, so a rewritten provider database
    # (new node ids) makes its dependants be rewritten too
    fps: dict[str, str] = {}
    for db in ordered:
        deps = [fps[d] for d in sorted(db.depends)]
        db.fingerprint = fps[db.name] = fingerprint("inventory", biosphere, *deps, *(p.read_bytes() for p in db.files))
    return ordered


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


def install(bd, biosphere: str, report, directory: Path | None = None) -> None:
    """Write the inventory databases that are missing or out of date (see `project.setup_project`)."""
    from .project import _mark, _state, flow_index

    files = inventory_files(directory)
    if not files:
        return
    databases = load(flow_index(biosphere), biosphere, directory)
    for db in databases:
        state = _state(bd.databases, db.name, db.fingerprint)
        if state == "foreign":
            raise AicomputeError(
                f"database {db.name!r} exists in project {bd.projects.current!r} and was not created by "
                "bw_aicompute; it is left untouched. Use another project (--project NAME)."
            )
    for db in databases:
        state = _state(bd.databases, db.name, db.fingerprint)
        if state == "current":
            report.add("database", db.name, "present", f"{len(db.datasets)} datasets")
            continue
        meta = {"format": "bw_aicompute inventories", "depends": sorted(db.depends | {biosphere})}
        if db.name in bd.databases:
            bd.databases[db.name].update(meta)
            bd.databases[db.name][OWNER_KEY] = _mark(db.fingerprint, "installing")
            bd.databases.flush()
        else:
            bd.Database(db.name).register(**meta, **{OWNER_KEY: _mark(db.fingerprint, "installing")})
        bd.Database(db.name).write(db.datasets)
        bd.databases[db.name][OWNER_KEY] = _mark(db.fingerprint, "complete")
        bd.databases.flush()
        report.add("database", db.name, "installed" if state == "absent" else "updated", f"{len(db.datasets)} datasets")
