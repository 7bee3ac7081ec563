"""The U.S. Life Cycle Inventory Database (USLCI, Federal LCA Commons) as an open background.

`import_uslci` reads USLCI's openLCA JSON-LD (as published in FLCAC-admin/uslci-content,
`downloads/uslci_olca1_5_0_json_ld`) with bw2io's `JSONLDImporter` and writes it as two
databases that bw_aicompute owns: `aicompute-uslci` (processes and their products) and
`aicompute-uslci-flows` (the elementary flows that have no equal in the project's
biosphere). What bw2io cannot read as published is said, and done, here:

* the documents are openLCA schema 1 (a category is a reference, not a path; exchanges have
  `input`, `quantitativeReference`, `avoidedProduct`): they are upgraded to the schema 2 names
  that bw2io reads, in a temporary folder;
* allocation factors that name no product (bw2io refuses them) are dropped: one product needs
  none, and several products are handled as follows;
* 132 processes have several products and no allocation factors: their reference product keeps
  all burdens and the other products are cut off (USLCI gives nothing to allocate with);
* inputs of a product that no process makes (USLCI's `CUTOFF ...` flows and coproducts) and
  waste outputs without a treatment are cut off, but an input that names another flow document
  of a product a process makes (same name and unit) is linked to it; of two processes that make
  the same product, the first by name is kept; the amounts written are USLCI's (its formulas and
  process parameters are not kept);
* elementary flows (ecoinvent 2 names and categories) are linked to the project's biosphere
  (ecoinvent 3.9 flows) with bw2io's own biosphere 2 -> 3 migrations after the reviewed rules
  of `inventories/uslci/biosphere.yaml`; the rest are kept in `aicompute-uslci-flows`,
  where no method characterizes them. The report counts each of these.

Reference: U.S. Life Cycle Inventory Database, National Renewable Energy Laboratory / Federal
LCA Commons (https://www.lcacommons.gov); openLCA schema (https://greendelta.github.io/olca-schema/).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING


from ._resources import data_dir, fingerprint
from .errors import AicomputeError
from .yamlfile import load_data
from .ownership import database_rows, refuse_foreign, write_owned

if TYPE_CHECKING:
    from .linking import LinkReport

USLCI_DB = "aicompute-uslci"
USLCI_BIOSPHERE = "aicompute-uslci-flows"
#: openLCA schema 1 exchange fields and their schema 2 names.
EXCHANGE_FIELDS = {"input": "isInput", "quantitativeReference": "isQuantitativeReference", "avoidedProduct": "isAvoidedProduct"}


@dataclass
class UslciReport:
    """What `import_uslci` read, cut off and linked."""

    source: str
    counts: Counter = field(default_factory=Counter)
    kept_flows: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        """The text printed by `aicompute link-uslci`."""
        c = self.counts
        linked, kept = c["biosphere exchanges linked"], c["biosphere exchanges kept"]
        lines = [
            f"USLCI from {self.source}: {c['processes']} processes, {c['products']} products in {USLCI_DB}",
            f"  {c['inputs linked by name']} inputs linked to the product of the same name and unit (another flow document of it)",
            f"  cut off: {c['inputs cut off']} inputs of products no process makes, {c['coproducts cut off']} coproducts of "
            f"{c['multi-output processes']} processes without allocation factors, {c['waste outputs cut off']} waste outputs, "
            f"{c['processes cut off: a product another process makes']} processes that make a product another one makes",
            f"  elementary flows: {linked} of {linked + kept} exchanges ({c['flows linked']} flows) linked to the project's biosphere; "
            f"{c['flows kept']} flows kept in {USLCI_BIOSPHERE} (characterized by no method)",
        ]
        if c["formulas dropped"]:
            lines.append(f"  {c['formulas dropped']} exchange formulas and the parameters of {c['processes with parameters']} processes not kept (USLCI's amounts are)")
        return "\n".join(lines)


def _documents(source: Path, tmp: Path) -> Path:
    """The folder of JSON-LD documents: `source` itself or the zip extracted into `tmp`."""
    if source.is_dir():
        return source
    if not zipfile.is_zipfile(source):
        raise AicomputeError(f"{source}: not a folder or a zip of openLCA JSON-LD (USLCI's downloads/uslci_olca1_5_0_json_ld)")
    with zipfile.ZipFile(source) as z:
        z.extractall(tmp / "zip")
    found = sorted(p.parent for p in (tmp / "zip").rglob("processes") if p.is_dir())
    if not found:
        raise AicomputeError(f"{source}: no processes folder in the zip")
    return found[0].parent if found[0].name == "processes" else found[0]


def _category_paths(folder: Path) -> dict[str, str]:
    """Category id -> its path (`air/unspecified`), from the schema 1 category documents."""
    cats = {}
    for f in (folder / "categories").glob("*.json"):
        doc = json.loads(f.read_text(encoding="utf-8"))
        cats[doc["@id"]] = doc

    def path(ref: dict | None) -> str:
        parts = []
        while ref and ref.get("@id") in cats:
            doc = cats[ref["@id"]]
            parts.append(doc["name"])
            ref = doc.get("category")
        return "/".join(reversed(parts))

    return {cid: path({"@id": cid}) for cid in cats}


def _reference_units(folder: Path) -> dict[str, str]:
    """Flow property id -> the reference unit of its unit group (`MJ` for Energy)."""
    groups = {}
    for f in (folder / "unit_groups").glob("*.json"):
        doc = json.loads(f.read_text(encoding="utf-8"))
        groups[doc["@id"]] = next(u["name"] for u in doc["units"] if u.get("referenceUnit"))
    out = {}
    for f in (folder / "flow_properties").glob("*.json"):
        doc = json.loads(f.read_text(encoding="utf-8"))
        out[doc["@id"]] = groups[doc["unitGroup"]["@id"]]
    return out


def _upgrade_process(doc: dict, units: dict[str, str], report: UslciReport) -> None:
    """A schema 1 process as bw2io reads it, with the cut-offs of the module docstring. Each
    exchange's flow gets the reference unit of the exchange's flow property (`refUnit`, as
    schema 2 writes it): bw2io converts the amount to that unit and would otherwise keep the
    name of the unit it converted from (1 kWh read as 3.6 "kilowatt hour")."""
    for exc in doc.get("exchanges", []):
        for old, new in EXCHANGE_FIELDS.items():
            if old in exc:
                exc[new] = exc.pop(old)
        exc["flow"]["refUnit"] = units[exc["flowProperty"]["@id"]]
        report.counts["formulas dropped"] += exc.pop("amountFormula", None) is not None
    report.counts["processes with parameters"] += bool(doc.pop("parameters", None))
    doc.pop("allocationFactors", None)
    outputs = [e for e in doc["exchanges"] if not e.get("isInput") and e["flow"].get("flowType") == "PRODUCT_FLOW"]
    if len(outputs) > 1:
        report.counts["multi-output processes"] += 1
        report.counts["coproducts cut off"] += len(outputs) - 1
        doc["exchanges"] = [e for e in doc["exchanges"] if not (e in outputs and not e.get("isQuantitativeReference"))]


def upgrade(folder: Path, out: Path, report: UslciReport) -> None:
    """Write the documents of `folder` (openLCA schema 1) into `out` with the schema 2 fields
    that bw2io's `JSONLDImporter` reads."""
    paths, units = _category_paths(folder), _reference_units(folder)
    for sub in (p for p in folder.iterdir() if p.is_dir()):
        (out / sub.name).mkdir(parents=True, exist_ok=True)
        for f in sub.glob("*.json"):
            doc = json.loads(f.read_text(encoding="utf-8"))
            if isinstance(doc.get("category"), dict):
                doc["category"] = paths.get(doc["category"].get("@id"), "")
            if doc.get("@type") == "Process":
                _upgrade_process(doc, units, report)
            (out / sub.name / f.name).write_text(json.dumps(doc), encoding="utf-8")


def _rules() -> dict:
    return load_data(_rules_text())


def _migrations() -> tuple[dict, dict]:
    """bw2io's biosphere 2 -> 3 migrations: categories -> new categories; (name, categories,
    unit) -> changes (name, unit, multiplier)."""
    from bw2io.data import get_biosphere_2_3_category_migration_data, get_biosphere_2_3_name_migration_data

    cats = {tuple(k[0]): tuple(v["categories"]) for k, v in get_biosphere_2_3_category_migration_data()["data"]}
    names = {(k[0], tuple(k[1]), k[2]): v for k, v in get_biosphere_2_3_name_migration_data()["data"]}
    return cats, names


def flow_key(name: str, categories: list[str], unit: str, rules: dict, migrations: tuple[dict, dict]) -> tuple[tuple[str, tuple, str], float]:
    """The (name, categories, unit) of a USLCI elementary flow in the project's biosphere, and the
    factor from USLCI's amount to that unit: the reviewed rules, then bw2io's migrations."""
    cats = [c.strip() for c in categories]
    while cats and cats[0] in rules["drop_category_prefixes"]:
        cats = cats[1:]
    cats = [rules["categories"].get(c, c) for c in cats]
    cats = cats[:1] if cats[1:] == ["unspecified"] else cats
    name = name.strip()
    for suffix in rules["drop_name_suffixes"]:
        name = name.removesuffix(suffix)
    cats = list(migrations[0].get(tuple(cats), cats))
    key, factor = (name, tuple(cats), unit), 1.0
    change = migrations[1].get(key)
    if change:
        key, factor = (change.get("name", name), key[1], change.get("unit", unit)), change.get("multiplier", 1.0)
    compartment = "resource" if key[1][:1] in (("resource",), ("natural resource",)) else (key[1] or ("",))[0]
    for s in rules["synonyms"]:
        names = s["uslci"] if isinstance(s["uslci"], list) else [s["uslci"]]
        if key[0] in names and s.get("unit", key[2]) == key[2] and s.get("compartment", compartment) == compartment:
            key, factor = (s["name"], tuple(s.get("categories", key[1])), s.get("to_unit", key[2])), factor * s.get("factor", 1.0)
            break
    return key, factor


def _read(folder: Path, report: UslciReport) -> tuple[list[dict], list[dict]]:
    """bw2io's JSONLDImporter on the upgraded documents: (datasets, elementary flows)."""
    from bw2io.importers.json_ld import JSONLDImporter

    with tempfile.TemporaryDirectory(prefix="bw_aicompute_uslci_") as tmp:
        out = Path(tmp) / "schema2"
        upgrade(folder, out, report)
        imp = JSONLDImporter(out, USLCI_DB)
    imp.apply_strategies(verbose=False, no_warning=True)
    return imp.data, imp.biosphere_database


def _makers_by_name(makers: dict[tuple, dict]) -> dict[tuple[str, str], tuple]:
    """(product name, unit) -> the product, where one product has that name and unit: USLCI
    has several flow documents of one product (an input of "Transport, ocean freighter, diesel
    powered" is not the flow its process makes)."""
    found: dict[tuple[str, str], list] = {}
    for key, ds in makers.items():
        exc = next(e for e in ds["exchanges"] if e.get("input") == key)
        found.setdefault((exc["name"].strip(), exc["unit"]), []).append(key)
    return {k: v[0] for k, v in found.items() if len(v) == 1}


def _cut_off(data: list[dict], report: UslciReport) -> dict[tuple[str, str], dict]:
    """Processes and the products they make, the cut-offs of the module docstring applied."""
    processes = sorted((d for d in data if d.get("type") == "process"), key=lambda d: (d["name"].strip(), d["code"]))
    makers: dict[tuple, dict] = {}
    for ds in processes:
        made = [e["input"] for e in ds["exchanges"] if e["type"] == "production" and "input" in e]
        if any(m in makers for m in made):
            report.counts["processes cut off: a product another process makes"] += 1
            continue
        makers.update({m: ds for m in made})
    out, making = {}, {id(d) for d in makers.values()}
    by_name = _makers_by_name(makers)
    for ds in (d for d in processes if id(d) in making):
        kept = []
        for e in ds["exchanges"]:
            if e["type"] == "technosphere" and e.get("input") not in makers and (e["name"].strip(), e["unit"]) in by_name:
                e["input"] = by_name[(e["name"].strip(), e["unit"])]
                report.counts["inputs linked by name"] += 1
            if e["type"] == "production" and "input" not in e:
                report.counts["waste outputs cut off"] += 1
            elif e["type"] == "technosphere" and e.get("input") not in makers:
                report.counts["inputs cut off"] += 1
            else:
                kept.append(e)
        out[(USLCI_DB, ds["code"])] = {**ds, "exchanges": kept, "database": USLCI_DB}
    products = {d["code"]: d for d in data if d.get("type") == "product"}
    for key, ds in list(makers.items()):
        exc = next(e for e in ds["exchanges"] if e.get("input") == key)
        out[key] = {**products[key[1]], "database": USLCI_DB, "unit": exc["unit"], "location": ds.get("location"), "exchanges": []}
    report.counts["processes"] = sum(d["type"] == "process" for d in out.values())
    report.counts["products"] = len(makers)
    return out


def _link_biosphere(datasets: dict, flows: list[dict], biosphere: str, report: UslciReport) -> dict[tuple[str, str], dict]:
    """Link each elementary exchange to the project's biosphere where the flow has an equal
    there (amount converted to its unit); the flows without one, for `aicompute-uslci-flows`."""
    from .project import flow_codes, flow_index

    codes = flow_codes(biosphere)
    index = {key: codes[i] for key, i in flow_index(biosphere).items()}
    rules, migrations = _rules(), _migrations()
    by_code = {f["code"]: f for f in flows}
    kept: dict[tuple[str, str], dict] = {}
    linked = set()
    for ds in datasets.values():
        for e in (e for e in ds["exchanges"] if e["type"] == "biosphere"):
            flow = by_code[e["input"][1]]
            key, factor = flow_key(flow["name"], flow["categories"], e["unit"], rules, migrations)
            if key in index:
                e["input"], e["amount"] = (biosphere, index[key]), e["amount"] * factor
                linked.add(flow["code"])
                report.counts["biosphere exchanges linked"] += 1
            else:
                e["input"] = (USLCI_BIOSPHERE, flow["code"])
                kept[e["input"]] = {**flow, "database": USLCI_BIOSPHERE, "categories": tuple(c.strip() for c in flow["categories"]), "unit": e["unit"]}
                report.counts["biosphere exchanges kept"] += 1
                report.kept_flows[(flow["name"].strip(), "/".join(flow["categories"]))] += 1
    report.counts["flows linked"], report.counts["flows kept"] = len(linked), len(kept)
    return kept


def _source_fingerprint(folder: Path) -> str:
    files = sorted(folder.rglob("*.json"))
    return fingerprint("uslci", "schema upgrade 2", _rules_text(), *(f.relative_to(folder).as_posix() + f.read_text(encoding="utf-8") for f in files))


def _rules_text() -> str:
    return (data_dir("inventories") / "uslci" / "biosphere.yaml").read_text(encoding="utf-8")


def import_uslci(source: str | Path, biosphere: str) -> UslciReport:
    """Import USLCI's openLCA JSON-LD into the current project as `aicompute-uslci` and
    `aicompute-uslci-flows` (bw_aicompute's own databases; a user's database of either name
    is refused). Run under the writer lock.

    Parameters
    ----------
    source : str or Path
        USLCI's `uslci_olca1_5_0_json_ld` folder, or a zip of it.
    biosphere : str
        The project's biosphere (ecoinvent 3.9 flows) that USLCI's elementary flows link to.

    Returns
    -------
    UslciReport
        Counts of what was read, cut off and linked (see the module docstring).
    """
    import bw2data as bd

    source = Path(source)
    for name in (USLCI_DB, USLCI_BIOSPHERE):
        refuse_foreign(bd.databases, name, "remove or rename it")
    report = UslciReport(source=str(source))
    with tempfile.TemporaryDirectory(prefix="bw_aicompute_uslci_") as tmp:
        folder = _documents(source, Path(tmp))
        fp = _source_fingerprint(folder)
        data, flows = _read(folder, report)
    datasets = _cut_off(data, report)
    kept = _link_biosphere(datasets, flows, biosphere, report)
    meta = {"format": "USLCI openLCA JSON-LD via bw2io JSONLDImporter", "license": "US federal public data (USLCI, Federal LCA Commons)"}
    write_owned(bd.databases, bd.Database(USLCI_BIOSPHERE), USLCI_BIOSPHERE, meta, fp, lambda: bd.Database(USLCI_BIOSPHERE).write(kept),
                count=database_rows(USLCI_BIOSPHERE), expected=len(kept), kind="uslci-biosphere")
    meta = {**meta, "depends": sorted({biosphere, USLCI_BIOSPHERE})}
    write_owned(bd.databases, bd.Database(USLCI_DB), USLCI_DB, meta, fp, lambda: bd.Database(USLCI_DB).write(datasets),
                count=database_rows(USLCI_DB), expected=len(datasets), kind="uslci")
    return report


def link_uslci(source: str | Path | None = None, foreground: str = "aicompute", progress: bool = False) -> tuple[UslciReport | None, "LinkReport"]:
    """Import USLCI (when `source` is given or it is not yet in the project) and write
    `aicompute-linked-aicompute-uslci`, a copy of the foreground whose open-background providers
    are USLCI's as `inventories/uslci/mapping.yaml` says (`bw_aicompute.linking`).

    Parameters
    ----------
    source : str or Path, optional
        USLCI's `uslci_olca1_5_0_json_ld` folder or a zip of it; needed the first time.
    foreground : str
        The database to copy (default `aicompute`).
    progress : bool
        Show a progress bar over the datasets copied.

    Returns
    -------
    (UslciReport or None, LinkReport)
        What the import did (None when USLCI was already imported and no `source` was given)
        and every replaced and kept exchange, with the reason.
    """
    import bw2data as bd

    from .linking import LINKED_PREFIX, link_foreground, load_mapping_file, mapping_path
    from .locking import refresh_registries, writer_lock
    from .project import find_biosphere

    with writer_lock(f"project {bd.projects.current!r}"):
        refresh_registries(bd)
        if foreground not in bd.databases:
            raise AicomputeError(f"database {foreground!r} is not installed; run: aicompute setup")
        refuse_foreign(bd.databases, LINKED_PREFIX + USLCI_DB, "remove or rename it")
        biosphere = find_biosphere(bd)
        imported = None
        if source is not None:
            imported = import_uslci(source, biosphere)
        elif USLCI_DB not in bd.databases:
            raise AicomputeError("USLCI is not in this project yet; give --source FOLDER (USLCI's uslci_olca1_5_0_json_ld, or a zip of it)")
        mapping = load_mapping_file(mapping_path("uslci", "mapping.yaml"), "USLCI", "USLCI mapping")
        return imported, link_foreground(bd, USLCI_DB, biosphere, mapping, foreground, progress)
