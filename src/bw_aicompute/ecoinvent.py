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

from . import distributions
from ._resources import atomic_write, csv_text, data_dir, fingerprint
from ._resources import progress as progress_bar
from .errors import AicomputeError
from .inventory import InventoryDatabase, tables, write_database
from .inventory.templates import expand
from .locking import refresh_registries, writer_lock
from .ownership import OWNER_KEY, owner, refuse_foreign
from .water import LOCATED_DB
from .project import find_biosphere, flow_codes, flow_index, replacement_candidates
from .setup import SetupReport, install_methods

VERSIONS = ("3.9", "3.10", "3.11", "3.12")
LINKED_PREFIX = "aicompute-linked-"


@dataclass
class LinkReport:
    """What `link_ecoinvent` did: one row per exchange of the linked copy that was replaced or kept."""
    database: str
    ecoinvent: str
    version: str
    rows: list[dict] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)

    @property
    def replaced(self) -> list[dict]:
        """Rows of exchanges now linked to ecoinvent."""
        return [r for r in self.rows if r["status"] == "replaced"]

    @property
    def unmatched(self) -> list[dict]:
        """Rows of exchanges that keep the open proxy, with the reason."""
        return [r for r in self.rows if r["status"] != "replaced"]

    def summary(self) -> str:
        """The text printed by `aicompute link-ecoinvent`."""
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
        if self.methods:
            lines.append("  methods updated to characterize the ecoinvent biosphere too:")
            lines += [f"    {m}" for m in self.methods]
        return "\n".join(lines)

    def to_csv(self, path: Path) -> None:
        """Write every row as CSV."""
        atomic_write(path, lambda tmp: self._write_csv(tmp))

    def _write_csv(self, path: Path) -> None:
        cols = ["status", "activity", "activity code", "exchange type", "original provider", "new provider", "new reference product", "new location", "new database", "factor", "reason"]
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            for r in self.rows:
                w.writerow({c: csv_text(r.get(c, "")) for c in cols})


def detect_version(database: str) -> str | None:
    """The ecoinvent release named in a database name (`ecoinvent-3.10-cutoff` -> `3.10`), or None."""
    minors = "|".join(v.split(".")[1] for v in VERSIONS)
    m = re.search(rf"3\.({minors})(?:\.\d+)?(?!\d)", database)
    return f"3.{m.group(1)}" if m else None


def load_mapping(version: str) -> tuple[list[dict], dict[str, str]]:
    """(mappings, unmapped reasons) of a mapping file, templates expanded."""
    if version not in VERSIONS:
        raise AicomputeError(f"no mapping for ecoinvent {version}; mappings exist for {', '.join(VERSIONS)}")
    path = data_dir("inventories") / "ecoinvent" / f"mapping-{version}-cutoff.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = [
        {"background": e["background"], "ecoinvent": e["ecoinvent"], "factor": float(e.get("factor", 1.0)), "note": e.get("note", "")}
        for e, _ in expand(doc["mappings"], tables(), path, "mapping")
    ]
    unmapped = {e["background"]: e["reason"] for e, _ in expand(doc.get("unmapped_for_each") or [], tables(), path, "mapping")}
    return out, {**unmapped, **dict(doc.get("unmapped") or {})}


def _ecoinvent_biosphere(bd, ei_db: str) -> str:
    depends = [d for d in bd.databases[ei_db].get("depends", []) if d in bd.databases and "biosphere" in d.lower()]
    if depends:
        return depends[0]
    found = find_biosphere(bd)
    if found is None:
        raise AicomputeError(f"no biosphere database found for {ei_db!r}")
    return found


def _targets(ei_db: str, mappings: list[dict]) -> tuple[dict[str, tuple[tuple[str, str], dict, float]], dict[str, str]]:
    """Mapped background codes -> (ecoinvent key, mapping, factor), and why the others are not
    linked, by matching (name, reference product, location, unit) in `ei_db`."""
    from bw2data.backends import ActivityDataset as AD

    ei_index = {}
    query = AD.select(AD.code, AD.name, AD.product, AD.location, AD.data).where(AD.database == ei_db)
    for code, name, product, location, data in query.tuples():
        ei_index[(name, product or data.get("reference product"), location, data.get("unit"))] = code
    target, missing = {}, {}
    for m in mappings:
        e = m["ecoinvent"]
        key = (e["name"], e["reference product"], str(e["location"]), e["unit"])
        if key in ei_index:
            target[m["background"]] = ((ei_db, ei_index[key]), {**e, "note": m.get("note", "")}, m["factor"])
        else:
            missing[m["background"]] = f"no activity {e['name']!r} [{e['location']}] ({e['reference product']}, {e['unit']}) in {ei_db}"
    return target, missing


@dataclass
class _Linker:
    """What linking one foreground needs: names, the mapping's targets and reasons, and the
    ecoinvent biosphere's flows."""

    foreground: str
    linked: str
    ei_db: str
    ei_bio: str
    target: dict
    missing: dict
    unmapped: dict
    report: LinkReport
    ei_flows: dict = field(default_factory=dict)
    ei_flow_code: dict = field(default_factory=dict)
    replacements: dict = field(default_factory=dict)
    ei_codes: set = field(init=False)

    def __post_init__(self) -> None:
        self.ei_codes = set(self.ei_flow_code.values())

    def _flow_match(self, flow, code: str, key: tuple) -> tuple[str, str] | None:
        """(ecoinvent flow code, how it was matched): by UUID (the flow's code), by UUID after
        the biosphere change reports, or by (name, categories, unit) as the fallback."""
        codes = self.ei_codes
        if code in codes:
            return code, "matched by UUID"
        new = next(((uuid, name) for uuid, name in self.replacements.get(code, []) if uuid in codes), None)
        if new:
            return new[0], f"matched by UUID after the biosphere change report ({flow['name']} -> {new[1]})"
        if key in self.ei_flows:
            return self.ei_flow_code[self.ei_flows[key]], "FALLBACK: matched by name, categories and unit (the UUID is not in this biosphere)"
        return None

    def biosphere(self, exc, e: dict, row: dict) -> None:
        flow, (src_db, src_code) = exc.input, exc["input"]
        key = (flow["name"], tuple(flow.get("categories") or ()), flow.get("unit"))
        original = f"{flow['name']} {list(key[1])}"
        if src_db in (self.ei_bio, LOCATED_DB):  # a location flow of consumed water stays ours
            e["input"] = (src_db, src_code)
        elif match := self._flow_match(flow, src_code, key):
            e["input"] = (self.ei_bio, match[0])
            new = {"new provider": flow["name"], "new location": "", "new database": self.ei_bio, "factor": 1.0, "reason": match[1]}
            self.report.rows.append({**row, "status": "replaced", "original provider": original, **new})
        else:
            e["input"] = (src_db, src_code)
            self.report.rows.append({**row, "status": "kept", "original provider": original, "reason": f"no flow with this name, categories and unit in {self.ei_bio}"})

    def technosphere(self, exc, e: dict, row: dict) -> None:
        src_db, src_code = exc["input"]
        original = exc.input["name"] + f" [{exc.input.get('location')}]"
        if src_db == "aicompute-background" and src_code in self.target:
            new_key, spec, factor = self.target[src_code]
            e.update(input=new_key, amount=exc["amount"] * factor, linked_from=f"{src_db}:{src_code}", link_factor=factor)
            if "formula" in e and factor != 1.0:
                e["formula"] = f"({e['formula']}) * {factor!r}"
            new = {"new provider": spec["name"], "new reference product": spec["reference product"], "new location": spec["location"], "new database": self.ei_db, "factor": factor}
            self.report.rows.append({**row, "status": "replaced", "original provider": original, **new, **({"reason": spec["note"]} if spec.get("note") else {})})
        else:
            e["input"] = (src_db, src_code)
            reason = self.missing.get(src_code) or self.unmapped.get(src_code) or "not in the mapping file"
            self.report.rows.append({**row, "status": "kept", "original provider": original, "reason": reason})

    def dataset(self, ds) -> dict:
        data = {k: v for k, v in ds.as_dict().items() if k not in ("id", "database", "code")}
        data["exchanges"] = []
        for exc in ds.exchanges():
            e = {k: v for k, v in exc.as_dict().items() if k not in ("input", "output", "id")}
            row = {"activity": ds["name"], "activity code": ds["code"], "exchange type": exc["type"]}
            if exc["type"] == "production":
                e["input"] = (self.linked, ds["code"])
            elif exc["input"][0] == self.foreground:
                e["input"] = (self.linked, exc["input"][1])
            elif exc["type"] == "biosphere":
                self.biosphere(exc, e, row)
            else:
                self.technosphere(exc, e, row)
            data["exchanges"].append(e)
        return data


def _copy_parameters(foreground: str, db: InventoryDatabase) -> None:
    from bw2data.parameters import DatabaseParameter

    for p in DatabaseParameter.select().where(DatabaseParameter.database == foreground):
        data = dict(p.data)
        unc = {k: data.pop(k) for k in (*distributions.FIELDS, "uncertainty source") if k in data}
        db.parameters[p.name] = {**data, "amount": p.amount, **({"formula": p.formula} if p.formula else {}), "_uncertainty": unc}


def _check(bd, ei_db: str, version: str | None, foreground: str) -> str:
    if ei_db not in bd.databases:
        raise AicomputeError(f"database {ei_db!r} is not in project {bd.projects.current!r}; installed: {', '.join(sorted(bd.databases))}")
    if foreground not in bd.databases:
        raise AicomputeError(f"database {foreground!r} is not installed; run: aicompute setup")
    version = version or detect_version(ei_db)
    if version is None:
        raise AicomputeError(f"cannot tell the ecoinvent version from the name {ei_db!r}; give --version ({', '.join(VERSIONS)})")
    if version not in VERSIONS:
        raise AicomputeError(f"no mapping for ecoinvent {version}; mappings exist for {', '.join(VERSIONS)}")
    refuse_foreign(bd.databases, LINKED_PREFIX + ei_db, "remove or rename it")
    return version


def link_ecoinvent(ei_db: str, version: str | None = None, foreground: str = "aicompute", progress: bool = False) -> LinkReport:
    """Write `aicompute-linked-<ei_db>`, a copy of the foreground linked to a licensed ecoinvent
    database of the current project.

    Parameters
    ----------
    ei_db : str
        The ecoinvent database (e.g. `ecoinvent-3.10-cutoff`).
    version : str, optional
        Its release (`3.9`, `3.10`, `3.11`, `3.12`); read from the name by default.
    foreground : str
        The database to copy (default `aicompute`).
    progress : bool
        Show a progress bar (tqdm, on stderr) over the datasets copied.

    Returns
    -------
    LinkReport
        Every replaced and kept exchange, with the reason.
    """
    import bw2data as bd

    with writer_lock(f"project {bd.projects.current!r}"):
        refresh_registries(bd)
        version = _check(bd, ei_db, version, foreground)
        methods = SetupReport(project=bd.projects.current, data_dir=Path(bd.projects.dir), project_created=False)
        install_methods(bd, find_biosphere(bd), methods)
        report = _link(bd, ei_db, version, foreground, progress)
        report.methods = [f"{i.name}: {i.detail}" for i in methods.items if i.action in ("installed", "updated")]
        return report


def _link(bd, ei_db: str, version: str, foreground: str, progress: bool = False) -> LinkReport:
    mappings, unmapped = load_mapping(version)
    linked = LINKED_PREFIX + ei_db
    target, missing = _targets(ei_db, mappings)
    ei_bio = _ecoinvent_biosphere(bd, ei_db)
    report = LinkReport(database=linked, ecoinvent=ei_db, version=version)
    linker = _Linker(foreground, linked, ei_db, ei_bio, target, missing, unmapped, report, flow_index(ei_bio), flow_codes(ei_bio), replacement_candidates())
    db = InventoryDatabase(linked)
    for ds in progress_bar(bd.Database(foreground), progress, "linking", total=len(bd.Database(foreground)), unit="dataset"):
        db.datasets[(linked, ds["code"])] = linker.dataset(ds)
    db.depends = {e["input"][0] for ds in db.datasets.values() for e in ds["exchanges"]} - {linked}
    _copy_parameters(foreground, db)
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

    linked = sorted(n for n in bd.databases if (owner(bd.databases[n]) or {}).get("kind") == "linked")
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
