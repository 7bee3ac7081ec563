"""Link the foreground to a user's licensed ecoinvent database.

`link_ecoinvent` builds a linked copy of the foreground database `aicompute`
(`aicompute-linked-<ecoinvent database>`) in which the providers of the open background
(`aicompute-background`) are replaced by the matching activities of the user's ecoinvent
database, from the mapping files `inventories/ecoinvent/mapping-<version>-cutoff.yaml`
(activity name, reference product, location, unit; no ecoinvent data is shipped). Biosphere
exchanges are matched by (name, categories, unit) to ecoinvent's biosphere, whatever it is
called. Where no match exists the open proxy is kept and reported. The ecoinvent database and
the user's other data are only read.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ._resources import data_dir, fingerprint
from .errors import AicomputeError
from .inventory import InventoryDatabase, _substitute, _Where, tables
from .methods import OWNER_KEY

VERSIONS = ("3.9", "3.10", "3.11")
LINKED_PREFIX = "aicompute-linked-"


@dataclass
class LinkReport:
    database: str
    ecoinvent: str
    version: str
    rows: list[dict] = field(default_factory=list)

    @property
    def replaced(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "replaced"]

    @property
    def unmatched(self) -> list[dict]:
        return [r for r in self.rows if r["status"] != "replaced"]

    def summary(self) -> str:
        lines = [
            f"Linked foreground {self.database!r} to {self.ecoinvent!r} (ecoinvent {self.version} cut-off mapping):",
            f"  {len(self.replaced)} exchanges now link to ecoinvent, {len(self.unmatched)} keep the open proxy",
        ]
        by_provider: dict[tuple, int] = {}
        for r in self.replaced:
            key = (r["original provider"], r["new provider"], r["new location"])
            by_provider[key] = by_provider.get(key, 0) + 1
        lines.append("  replaced providers:")
        for (orig, new, loc), n in sorted(by_provider.items()):
            lines.append(f"    {orig} -> {new} [{loc}] ({n} exchanges)")
        reasons: dict[tuple, int] = {}
        for r in self.unmatched:
            key = (r["original provider"], r["reason"])
            reasons[key] = reasons.get(key, 0) + 1
        if reasons:
            lines.append("  kept (open proxy) and why:")
            for (orig, why), n in sorted(reasons.items()):
                lines.append(f"    {orig}: {why} ({n} exchanges)")
        return "\n".join(lines)

    def to_csv(self, path: Path) -> None:
        cols = ["status", "activity", "activity code", "exchange type", "original provider", "new provider", "new reference product", "new location", "new database", "factor", "reason"]
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            for r in self.rows:
                w.writerow({c: r.get(c, "") for c in cols})


def detect_version(database: str) -> str | None:
    m = re.search(r"3\.(9|10|11)(?:\.\d+)?(?!\d)", database)
    return f"3.{m.group(1)}" if m else None


def load_mapping(version: str) -> tuple[list[dict], dict[str, str]]:
    """(mappings, unmapped reasons) of a mapping file, templates expanded."""
    if version not in VERSIONS:
        raise AicomputeError(f"no mapping for ecoinvent {version}; mappings exist for {', '.join(VERSIONS)}")
    path = data_dir("inventories") / "ecoinvent" / f"mapping-{version}-cutoff.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    known = tables()
    out = []
    for entry in doc["mappings"]:
        rows = known[entry["for_each"]] if "for_each" in entry else [{}]
        body = {k: v for k, v in entry.items() if k != "for_each"}
        for row in rows:
            e = _substitute(body, row, _Where(path, str(entry.get("background"))))
            out.append({"background": e["background"], "ecoinvent": e["ecoinvent"], "factor": float(e.get("factor", 1.0))})
    return out, dict(doc.get("unmapped") or {})


def _ecoinvent_biosphere(bd, ei_db: str) -> str:
    depends = [d for d in bd.databases[ei_db].get("depends", []) if d in bd.databases and "biosphere" in d.lower()]
    if depends:
        return depends[0]
    from .project import find_biosphere

    found = find_biosphere(bd)
    if found is None:
        raise AicomputeError(f"no biosphere database found for {ei_db!r}")
    return found


def link_ecoinvent(ei_db: str, version: str | None = None, foreground: str = "aicompute") -> LinkReport:
    """Write `aicompute-linked-<ei_db>`, a copy of `foreground` linked to `ei_db`."""
    import bw2data as bd
    from bw2data.backends import ActivityDataset as AD
    from bw2data.parameters import DatabaseParameter

    from .inventory import write_database
    from .project import flow_index

    if ei_db not in bd.databases:
        raise AicomputeError(f"database {ei_db!r} is not in project {bd.projects.current!r}; installed: {', '.join(sorted(bd.databases))}")
    if foreground not in bd.databases:
        raise AicomputeError(f"database {foreground!r} is not installed; run: aicompute setup")
    version = version or detect_version(ei_db)
    if version is None:
        raise AicomputeError(f"cannot tell the ecoinvent version from the name {ei_db!r}; give --version ({', '.join(VERSIONS)})")
    mappings, unmapped = load_mapping(version)
    linked = LINKED_PREFIX + ei_db
    if linked in bd.databases and OWNER_KEY not in bd.databases[linked]:
        raise AicomputeError(f"database {linked!r} exists and was not created by bw_aicompute")

    # ecoinvent activities by (name, reference product, location, unit)
    ei_index = {}
    query = AD.select(AD.code, AD.name, AD.product, AD.location, AD.data).where(AD.database == ei_db)
    for code, name, product, location, data in query.tuples():
        ei_index[(name, product or data.get("reference product"), location, data.get("unit"))] = code
    target: dict[str, tuple[tuple[str, str], dict, float]] = {}
    missing: dict[str, str] = {}
    for m in mappings:
        e = m["ecoinvent"]
        key = (e["name"], e["reference product"], str(e["location"]), e["unit"])
        if key in ei_index:
            target[m["background"]] = ((ei_db, ei_index[key]), e, m["factor"])
        else:
            missing[m["background"]] = f"no activity {e['name']!r} [{e['location']}] ({e['reference product']}, {e['unit']}) in {ei_db}"

    ei_bio = _ecoinvent_biosphere(bd, ei_db)
    ei_flows = flow_index(ei_bio)
    ei_flow_code = {i: c for i, c in AD.select(AD.id, AD.code).where(AD.database == ei_bio).tuples()}
    report = LinkReport(database=linked, ecoinvent=ei_db, version=version)
    db = InventoryDatabase(linked)
    nodes = {}
    for ds in bd.Database(foreground):
        nodes[ds["code"]] = ds
    for code, ds in nodes.items():
        data = {k: v for k, v in ds.as_dict().items() if k not in ("id", "database", "code")}
        exchanges = []
        for exc in ds.exchanges():
            e = {k: v for k, v in exc.as_dict().items() if k not in ("input", "output", "id")}
            src_db, src_code = exc["input"]
            row = {"activity": ds["name"], "activity code": code, "exchange type": exc["type"]}
            if exc["type"] == "production":
                e["input"] = (linked, code)
            elif src_db == foreground:
                e["input"] = (linked, src_code)
            elif exc["type"] == "biosphere":
                flow = exc.input
                key = (flow["name"], tuple(flow.get("categories") or ()), flow.get("unit"))
                if src_db == ei_bio:
                    e["input"] = (src_db, src_code)
                elif key in ei_flows:
                    e["input"] = (ei_bio, ei_flow_code[ei_flows[key]])
                    report.rows.append({**row, "status": "replaced", "original provider": f"{flow['name']} {list(key[1])}", "new provider": flow["name"], "new location": "", "new database": ei_bio, "factor": 1.0})
                else:
                    e["input"] = (src_db, src_code)
                    report.rows.append({**row, "status": "kept", "original provider": f"{flow['name']} {list(key[1])}", "reason": f"no flow with this name, categories and unit in {ei_bio}"})
            elif src_db == "aicompute-background" and src_code in target:
                new_key, spec, factor = target[src_code]
                e["input"] = new_key
                e["amount"] = exc["amount"] * factor
                if "formula" in e and factor != 1.0:
                    e["formula"] = f"({e['formula']}) * {factor!r}"
                e["linked_from"] = f"{src_db}:{src_code}"
                report.rows.append(
                    {**row, "status": "replaced", "original provider": exc.input["name"] + f" [{exc.input.get('location')}]", "new provider": spec["name"], "new reference product": spec["reference product"], "new location": spec["location"], "new database": ei_db, "factor": factor}
                )
            else:
                e["input"] = (src_db, src_code)
                reason = missing.get(src_code) or unmapped.get(src_code) or "not in the mapping file"
                report.rows.append({**row, "status": "kept", "original provider": exc.input["name"] + f" [{exc.input.get('location')}]", "reason": reason})
            exchanges.append(e)
        data["exchanges"] = exchanges
        db.datasets[(linked, code)] = data
    db.depends = {d for ds in db.datasets.values() for e in ds["exchanges"] for d in [e["input"][0]]} - {linked}
    for p in DatabaseParameter.select().where(DatabaseParameter.database == foreground):
        data = dict(p.data)
        unc = {k: data.pop(k) for k in ("uncertainty type", "loc", "scale", "minimum", "maximum", "uncertainty source") if k in data}
        db.parameters[p.name] = {**data, "amount": p.amount, **({"formula": p.formula} if p.formula else {}), "_uncertainty": unc}
    db.fingerprint = fingerprint("linked", ei_db, version, bd.databases[foreground][OWNER_KEY].get("fingerprint", ""))
    write_database(bd, db, ei_bio, kind="linked", linked_to=ei_db, ecoinvent_version=version)
    bd.databases[linked]["format"] = f"bw_aicompute foreground linked to {ei_db}"
    bd.databases.flush()
    return report


def foreground_for(background: str = "open", ei_db: str | None = None) -> str:
    """The foreground database a campaign links to: `aicompute` for the open background, the
    copy linked to ecoinvent for `background="ecoinvent"`."""
    return "aicompute" if background == "open" else linked_foreground(ei_db)


def linked_foreground(ei_db: str | None = None) -> str:
    """The linked foreground to assess campaigns against (`--background ecoinvent`)."""
    import bw2data as bd

    linked = sorted(n for n in bd.databases if (bd.databases[n].get(OWNER_KEY) or {}).get("kind") == "linked")
    if ei_db:
        name = LINKED_PREFIX + ei_db
        if name not in linked:
            raise AicomputeError(f"no linked foreground for {ei_db!r}; run: aicompute link-ecoinvent --database {ei_db}")
        return name
    if not linked:
        raise AicomputeError("no foreground is linked to ecoinvent yet; run: aicompute link-ecoinvent --database NAME")
    if len(linked) > 1:
        raise AicomputeError(f"several linked foregrounds ({', '.join(linked)}); choose with --ecoinvent-database NAME")
    return linked[0]
