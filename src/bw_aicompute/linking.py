"""Link the foreground to an established background database through a reviewed mapping file.

`link_foreground` builds a linked copy of the foreground database `aicompute`
(`aicompute-linked-<target database>`) in which the providers of the open background
(`aicompute-background`) are replaced by the activities of the target database that a mapping
file names (name, reference product, location, unit; `factor` converts our unit into the
target's). ecoinvent (`inventories/ecoinvent/mapping-<version>-cutoff.yaml`, `bw_aicompute.ecoinvent`)
and USLCI (`inventories/uslci/mapping.yaml`, `bw_aicompute.uslci`) are two such mappings, linked
by the same code. Biosphere exchanges are matched to the target's biosphere by UUID, by the
change reports, or by (name, categories, unit). Where no match exists the open proxy is kept and
reported. The target database and the user's other data are only read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path


from . import distributions
from ._resources import atomic_write, csv_text, data_dir, fingerprint
from ._resources import progress as progress_bar
from .errors import AicomputeError
from .yamlfile import load_data
from .inventory import InventoryDatabase, tables, write_database
from .inventory.templates import expand
from .ownership import OWNER_KEY, owner
from .project import flow_codes, flow_index, replacement_candidates
from .water import LOCATED_DB

LINKED_PREFIX = "aicompute-linked-"
#: What a campaign can be assessed against: the open background, or the foreground linked to ecoinvent or USLCI.
BACKGROUNDS = ("open", "ecoinvent", "uslci")
#: The fields of a mapping's `provider` that identify an activity of the target database.
PROVIDER_FIELDS = ("name", "reference product", "location", "unit")


@dataclass
class Mapping:
    """A reviewed mapping file: its entries (background code -> provider, factor, note), the
    reasons of the background datasets it leaves unmapped, and what it says of itself."""

    path: Path
    entries: list[dict]
    unmapped: dict[str, str]
    kind: str
    label: str


def load_mapping_file(path: Path, kind: str, label: str) -> Mapping:
    """Read a mapping file (templates expanded): `mappings` of `background` -> `provider`
    (`factor`, `note`), `unmapped` and `unmapped_for_each` with their reasons."""
    doc = load_data(path.read_text(encoding="utf-8"))
    entries = [
        {"background": e["background"], "provider": e["provider"], "factor": float(e.get("factor", 1.0)), "note": e.get("note", "")}
        for e, _ in expand(doc["mappings"], tables(), path, "mapping")
    ]
    unmapped = {e["background"]: e["reason"] for e, _ in expand(doc.get("unmapped_for_each") or [], tables(), path, "mapping")}
    return Mapping(path, entries, {**unmapped, **dict(doc.get("unmapped") or {})}, kind, label)


def mapping_path(*parts: str) -> Path:
    """A mapping file of `inventories/`."""
    return data_dir("inventories").joinpath(*parts)


@dataclass
class LinkReport:
    """What `link_foreground` did: one row per exchange of the linked copy that was replaced or kept."""
    database: str
    target: str
    label: str
    kind: str = "ecoinvent"
    rows: list[dict] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)

    @property
    def replaced(self) -> list[dict]:
        """Rows of exchanges now linked to the target database."""
        return [r for r in self.rows if r["status"] == "replaced"]

    @property
    def unmatched(self) -> list[dict]:
        """Rows of exchanges that keep the open proxy, with the reason."""
        return [r for r in self.rows if r["status"] != "replaced"]

    def summary(self) -> str:
        """The text printed by `aicompute link-ecoinvent` and `link-uslci`."""
        lines = [
            f"Linked foreground {self.database!r} to {self.target!r} ({self.label}):",
            f"  {len(self.replaced)} exchanges now link to {self.kind}, {len(self.unmatched)} keep the open proxy",
        ]
        by_provider: dict[tuple, int] = {}
        for r in self.replaced:
            key = (r["original provider"], r["new provider"], r["new location"])
            by_provider[key] = by_provider.get(key, 0) + 1
        lines.append("  replaced providers:")
        lines += [f"    {orig} -> {new} [{loc}] ({n} exchanges)" for (orig, new, loc), n in sorted(by_provider.items())]
        reasons: dict[tuple, int] = {}
        for r in self.unmatched:
            key = (r["original provider"], r["reason"])
            reasons[key] = reasons.get(key, 0) + 1
        if reasons:
            lines.append("  kept (open proxy) and why:")
            lines += [f"    {orig}: {why} ({n} exchanges)" for (orig, why), n in sorted(reasons.items())]
        if self.methods:
            lines.append(f"  methods updated to characterize the {self.kind} biosphere too:")
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


def _targets(target_db: str, mapping: Mapping) -> tuple[dict[str, tuple[tuple[str, str], dict, float]], dict[str, str]]:
    """Mapped background codes -> (target key, provider, factor), and why the others are not
    linked: the activity of `target_db` whose fields equal every field the provider gives
    (name, reference product, location, unit). Where a database has product nodes apart from
    its processes (bw2io's JSON-LD import), the product is the provider."""
    from bw2data.backends import ActivityDataset as AD

    by_name: dict[str, list[tuple[str, dict]]] = {}
    query = AD.select(AD.code, AD.name, AD.product, AD.location, AD.type, AD.data).where(AD.database == target_db)
    for code, name, product, location, kind, data in query.tuples():
        fields = {"name": name, "reference product": product or data.get("reference product"), "location": location, "unit": data.get("unit"), "type": kind}
        by_name.setdefault(name, []).append((code, fields))
    target, missing = {}, {}
    for m in mapping.entries:
        p = m["provider"]
        same = [(code, f["type"]) for code, f in by_name.get(p["name"], []) if all(str(f[k]) == str(p[k]) for k in PROVIDER_FIELDS if k in p)]
        found = [code for code, kind in same if kind == "product"] or [code for code, _ in same]
        if len(found) == 1:
            target[m["background"]] = ((target_db, found[0]), {**p, "note": m.get("note", "")}, m["factor"])
        else:
            where = f" [{p['location']}]" if "location" in p else ""
            missing[m["background"]] = f"{'no' if not found else len(found)} activit{'y' if len(found) < 2 else 'ies'} {p['name']!r}{where} ({p.get('reference product', '')}, {p.get('unit', '')}) in {target_db}"
    return target, missing


@dataclass
class _Linker:
    """What linking one foreground needs: names, the mapping's targets and reasons, and the
    target biosphere's flows."""

    foreground: str
    linked: str
    target_db: str
    target_bio: str
    target: dict
    missing: dict
    unmapped: dict
    report: LinkReport
    bio_flows: dict = field(default_factory=dict)
    bio_flow_code: dict = field(default_factory=dict)
    replacements: dict = field(default_factory=dict)
    bio_codes: set = field(init=False)

    def __post_init__(self) -> None:
        self.bio_codes = set(self.bio_flow_code.values())

    def _flow_match(self, flow, code: str, key: tuple) -> tuple[str, str] | None:
        """(target flow code, how it was matched): by UUID (the flow's code), by UUID after
        the biosphere change reports, or by (name, categories, unit) as the fallback."""
        codes = self.bio_codes
        if code in codes:
            return code, "matched by UUID"
        new = next(((uuid, name) for uuid, name in self.replacements.get(code, []) if uuid in codes), None)
        if new:
            return new[0], f"matched by UUID after the biosphere change report ({flow['name']} -> {new[1]})"
        if key in self.bio_flows:
            return self.bio_flow_code[self.bio_flows[key]], "FALLBACK: matched by name, categories and unit (the UUID is not in this biosphere)"
        return None

    def biosphere(self, exc, e: dict, row: dict) -> None:
        flow, (src_db, src_code) = exc.input, exc["input"]
        key = (flow["name"], tuple(flow.get("categories") or ()), flow.get("unit"))
        original = f"{flow['name']} {list(key[1])}"
        if src_db in (self.target_bio, LOCATED_DB):  # a location flow of consumed water stays ours
            e["input"] = (src_db, src_code)
        elif match := self._flow_match(flow, src_code, key):
            e["input"] = (self.target_bio, match[0])
            new = {"new provider": flow["name"], "new location": "", "new database": self.target_bio, "factor": 1.0, "reason": match[1]}
            self.report.rows.append({**row, "status": "replaced", "original provider": original, **new})
        else:
            e["input"] = (src_db, src_code)
            self.report.rows.append({**row, "status": "kept", "original provider": original, "reason": f"no flow with this name, categories and unit in {self.target_bio}"})

    def technosphere(self, exc, e: dict, row: dict) -> None:
        src_db, src_code = exc["input"]
        original = exc.input["name"] + f" [{exc.input.get('location')}]"
        if src_db == "aicompute-background" and src_code in self.target:
            new_key, spec, factor = self.target[src_code]
            e.update(input=new_key, amount=exc["amount"] * factor, linked_from=f"{src_db}:{src_code}", link_factor=factor)
            if "formula" in e and factor != 1.0:
                e["formula"] = f"({e['formula']}) * {factor!r}"
            new = {"new provider": spec["name"], "new reference product": spec.get("reference product", ""), "new location": spec.get("location", ""), "new database": self.target_db, "factor": factor}
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


def link_foreground(bd, target_db: str, target_bio: str, mapping: Mapping, foreground: str = "aicompute", progress: bool = False, **mark) -> LinkReport:
    """Write `aicompute-linked-<target_db>`, a copy of `foreground` whose open-background
    providers are replaced as `mapping` says, its biosphere exchanges matched to `target_bio`.
    Run under the writer lock; `mark` adds fields to the ownership mark."""
    linked = LINKED_PREFIX + target_db
    target, missing = _targets(target_db, mapping)
    report = LinkReport(database=linked, target=target_db, label=mapping.label, kind=mapping.kind)
    linker = _Linker(foreground, linked, target_db, target_bio, target, missing, mapping.unmapped, report, flow_index(target_bio), flow_codes(target_bio), replacement_candidates())
    db = InventoryDatabase(linked)
    for ds in progress_bar(bd.Database(foreground), progress, "linking", total=len(bd.Database(foreground)), unit="dataset"):
        db.datasets[(linked, ds["code"])] = linker.dataset(ds)
    db.depends = {e["input"][0] for ds in db.datasets.values() for e in ds["exchanges"]} - {linked}
    _copy_parameters(foreground, db)
    db.fingerprint = fingerprint("linked", target_db, mapping.path.read_text(encoding="utf-8"), bd.databases[foreground][OWNER_KEY].get("fingerprint", ""))
    write_database(bd, db, target_bio, kind="linked", linked_to=target_db, linked_kind=mapping.kind.lower(), **mark)
    bd.databases[linked]["format"] = f"bw_aicompute foreground linked to {target_db}"
    bd.databases.flush()
    return report


def foreground_for(background: str = "open", database: str | None = None) -> str:
    """The foreground database a campaign links to: `aicompute` for the open background, the
    copy linked to ecoinvent (`background="ecoinvent"`) or to USLCI (`"uslci"`)."""
    return "aicompute" if background == "open" else linked_foreground(database if background == "ecoinvent" else None, background)


def linked_foreground(database: str | None = None, background: str = "ecoinvent") -> str:
    """The linked foreground to assess campaigns against (`--background ecoinvent|uslci`)."""
    import bw2data as bd

    def kind(name: str) -> str:
        mark = owner(bd.databases[name]) or {}
        return mark.get("linked_kind", "ecoinvent") if mark.get("kind") == "linked" else ""

    linked = sorted(n for n in bd.databases if kind(n) == background)
    command = "aicompute link-uslci --source FOLDER" if background == "uslci" else "aicompute link-ecoinvent --database NAME"
    if database:
        name = LINKED_PREFIX + database
        if name not in linked:
            raise AicomputeError(f"no linked foreground for {database!r}; run: {command.replace('NAME', database)}")
        return name
    if not linked:
        raise AicomputeError(f"no foreground is linked to {background} yet; run: {command}")
    if len(linked) > 1:
        raise AicomputeError(f"several linked foregrounds ({', '.join(linked)}); choose with --ecoinvent-database NAME")
    return linked[0]
