"""Excel: the campaign workbook (blank template and reader) and the assessment workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .campaign import PHASE_KEYS
from .errors import AicomputeError

# key, help text; nested keys are written flat in the workbook ("grid_kg_co2e_per_kwh")
TEMPLATE = {
    "campaign": [
        ("name", "Campaign name (required)"),
        ("description", "What the campaign is"),
    ],
    "site": [
        ("country", "ISO 3166 two-letter code of the grid (FR, US, DE...) or GLO"),
        ("profile", "industry-average | hyperscaler | free-cooled-colocation (facility PUE and WUE)"),
        ("pue", "Override of the facility PUE (>= 1)"),
        ("wue_l_per_kwh", "Override of the on-site water use, L per kWh of IT energy"),
        ("wue_basis", "consumption | withdrawal (what the WUE states)"),
        ("grid_kg_co2e_per_kwh", "Grid override: kg CO2-eq per kWh (becomes its own electricity dataset)"),
        ("grid_water_l_per_kwh", "Grid override: water consumed per kWh, L"),
        ("grid_source", "Source of the grid override"),
    ],
    "hardware": [
        ("gpu", "GPU model (required), e.g. H100 SXM 80GB"),
        ("gpus_per_node", "GPUs per server"),
        ("gpu_embodied_kg_co2e", "Override of one GPU card's embodied footprint, kg CO2-eq"),
        ("gpu_embodied_water_m3", "... water consumed, m3"),
        ("gpu_embodied_kg_sb_eq", "... kg Sb-eq"),
        ("gpu_embodied_source", "... source"),
        ("server_embodied_kg_co2e", "Override of one server's (without GPUs) embodied footprint, kg CO2-eq"),
        ("server_embodied_water_m3", "... water consumed, m3"),
        ("server_embodied_kg_sb_eq", "... kg Sb-eq"),
        ("server_embodied_source", "... source"),
        ("lifetime_years", "Hardware lifetime, years"),
        ("utilisation", "Share of the lifetime allocated to jobs (0-1)"),
        ("switches_per_gpu", "Network switches per GPU"),
        ("storage_tb_per_gpu", "Shared storage per GPU, TB"),
        ("datacenter_infrastructure", "TRUE to include the building and M&E (default), FALSE to leave it out"),
    ],
    "defaults": [
        ("kind", "Default phase kind"),
        ("load_factor", "Default share of rated power drawn (0-1)"),
        ("node_overhead_w_per_gpu", "Default node power besides the GPUs, W per GPU"),
    ],
}
PHASE_COLUMNS = list(PHASE_KEYS)  # one column per phase field of the campaign files
NESTED = {
    "site": {"grid_": "grid"},
    "hardware": {"gpu_embodied_": "gpu_embodied", "server_embodied_": "server_embodied"},
}


def write_template(path: Path) -> None:
    """Write a blank campaign workbook with one sheet per section and a help column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for sheet, rows in TEMPLATE.items():
        ws = wb.create_sheet(sheet)
        ws.append(["key", "value", "help"])
        for key, help_ in rows:
            ws.append([key, None, help_])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.column_dimensions["A"].width = 28
        ws.column_dimensions["B"].width = 24
        ws.column_dimensions["C"].width = 80
    ws = wb.create_sheet("phases")
    ws.append(PHASE_COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.append(["# one row per phase; give gpu_hours, or nodes + hours, or gpus + hours, or telemetry (a power log file); energy (kWh, or '12 MWh') replaces the power model; kinds: pretraining, fine-tuning, ablation, hyperparameter search, failed or restarted run, debugging, evaluation, idle reservation"])
    wb.save(path)


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def read_campaign_workbook(path: Path) -> dict:
    """Read a campaign workbook into the same structure as a campaign YAML file."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, data_only=True, read_only=True)
    except Exception as exc:  # openpyxl raises several types for broken files
        raise AicomputeError(f"{path}: not a readable Excel workbook ({exc})") from None
    doc: dict = {}
    for sheet in ("campaign", "site", "hardware", "defaults"):
        if sheet not in wb.sheetnames:
            if sheet in ("campaign", "site"):
                raise AicomputeError(f"{path}: sheet {sheet!r} is missing")
            continue
        section: dict = {}
        for i, row in enumerate(wb[sheet].iter_rows(values_only=True), start=1):
            if i == 1 or not row or _cell(row[0]) is None:
                continue
            key = str(row[0]).strip()
            value = _cell(row[1]) if len(row) > 1 else None
            if value is None:
                continue
            for prefix, nested in NESTED.get(sheet, {}).items():
                if key.startswith(prefix):
                    section.setdefault(nested, {})[key[len(prefix):]] = value
                    break
            else:
                section[key] = value
        if section:
            doc[sheet] = section
    if "phases" not in wb.sheetnames:
        raise AicomputeError(f"{path}: sheet 'phases' is missing")
    rows = list(wb["phases"].iter_rows(values_only=True))
    if not rows:
        raise AicomputeError(f"{path}: sheet 'phases' is empty")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    phases = []
    for row in rows[1:]:
        if not row or (isinstance(row[0], str) and row[0].startswith("#")):
            continue
        record = {h: _cell(v) for h, v in zip(header, row) if h and _cell(v) is not None}
        if record:
            phases.append(record)
    doc["phases"] = phases
    return doc


def write_assessment(a, path: Path) -> None:
    """Totals, breakdown (long and pivoted), phases, the campaign's inputs and its inventory."""
    import bw2calc as bc
    import bw2data as bd

    inputs = []

    def flatten(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                flatten(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):
            for i, v in enumerate(value, start=1):
                flatten(f"{prefix}[{i}]", v)
        else:
            inputs.append({"field": prefix, "value": value})

    flatten("", a.model.campaign.inputs)
    totals = a.totals.assign(method=a.totals["method"].map(" | ".join))
    node = bd.get_node(database=a.model.key[0], code=a.model.key[1])
    lca = bc.LCA({node: 1}, tuple(a.totals["method"].iloc[0]))
    lca.lci()
    flows = lca.inventory.sum(axis=1).A1
    rev = {v: k for k, v in lca.dicts.biosphere.items()}
    inventory = []
    for row, amount in enumerate(flows):
        if amount:
            flow = bd.get_node(id=rev[row])
            inventory.append({"flow": flow["name"], "categories": "::".join(flow.get("categories", ())), "unit": flow["unit"], "amount": float(amount)})
    activities = []
    for ds in bd.Database(a.database):
        for exc in ds.exchanges():
            if exc["type"] == "production":
                continue
            activities.append(
                {
                    "activity": ds["name"],
                    "code": ds["code"],
                    "type": exc["type"],
                    "input": exc.input["name"],
                    "input database": exc.input["database"],
                    "amount": exc["amount"],
                    "unit": exc.get("unit", exc.input.get("unit")),
                    "source": exc.get("source", ""),
                }
            )
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        totals.to_excel(xl, sheet_name="Totals", index=False)
        a.breakdown.to_excel(xl, sheet_name="Breakdown", index=False)
        a.by_phase().to_excel(xl, sheet_name="By phase")
        a.by_stage().to_excel(xl, sheet_name="By stage")
        a.phases.to_excel(xl, sheet_name="Phases", index=False)
        pd.DataFrame(inputs).to_excel(xl, sheet_name="Inputs", index=False)
        pd.DataFrame(inventory).sort_values("amount", key=abs, ascending=False).to_excel(xl, sheet_name="Inventory", index=False)
        pd.DataFrame(activities).to_excel(xl, sheet_name="Activities", index=False)
        if a.uncertainty is not None:
            mc = a.uncertainty
            mc.totals_table().to_excel(xl, sheet_name="Uncertainty totals", index=False)
            mc.group_table("phase").to_excel(xl, sheet_name="Uncertainty by phase", index=False)
            mc.group_table("stage").to_excel(xl, sheet_name="Uncertainty by stage", index=False)
            mc.breakdown_table().to_excel(xl, sheet_name="Uncertainty breakdown", index=False)
            mc.sensitivity(top=20).to_excel(xl, sheet_name="Sensitivity", index=False)


# ---------------------------------------------------------------------------------------------
# inventories in bw2io's Excel format

PARAM_COLUMNS = ["name", "amount", "formula", "unit", "source", "comment", "uncertainty type", "loc", "scale", "minimum", "maximum", "uncertainty source"]
EXCHANGE_COLUMNS = [
    "name",
    "amount",
    "unit",
    "location",
    "reference product",
    "categories",
    "database",
    "type",
    "formula",
    "uncertainty type",
    "loc",
    "scale",
    "minimum",
    "maximum",
    "uncertainty source",
    "source",
    "comment",
]
ACTIVITY_FIELDS = ["code", "reference product", "unit", "location", "type", "stage", "comment"]
SHIPPED = ("aicompute-background", "aicompute")


def export_inventories(path: Path, databases: tuple[str, ...] = SHIPPED) -> list[str]:
    """Write the databases to one workbook in bw2io's Excel layout, one sheet per database
    (bw2io reads one `Database` section per import: `ExcelImporter(path, sheet_name=...)`).

    Edges carry `reference product`, `unit`, `location` and `database`, so that bw2io's default
    linking (and `match_database`) finds their providers; formulas, uncertainty, comments and
    sources are kept; database parameters are written in a `Database parameters` section."""
    import bw2data as bd
    from bw2data.parameters import DatabaseParameter
    from openpyxl import Workbook
    from openpyxl.styles import Font

    for name in databases:
        if name not in bd.databases:
            raise AicomputeError(f"database {name!r} is not installed; run: aicompute setup")
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name in databases:
        ws = wb.create_sheet(_sheet_title(name))
        meta = bd.databases[name]
        ws.append(["Database", name])
        ws[ws.max_row][0].font = bold
        for key in ("format", "license"):
            if meta.get(key):
                ws.append([key, meta[key]])
        ws.append([])
        params = list(DatabaseParameter.select().where(DatabaseParameter.database == name).order_by(DatabaseParameter.name))
        if params:
            ws.append(["Database parameters"])
            ws[ws.max_row][0].font = bold
            ws.append(PARAM_COLUMNS)
            for p in params:
                d = {**p.data, "name": p.name, "amount": p.amount, "formula": p.formula}
                ws.append([_xl(d.get(c)) for c in PARAM_COLUMNS])
            ws.append([])
        for act in sorted(bd.Database(name), key=lambda a: (a["name"], a.get("location", ""), a["code"])):
            ws.append(["Activity", act["name"]])
            ws[ws.max_row][0].font = bold
            for field_ in ACTIVITY_FIELDS:
                value = "process" if field_ == "type" else act.get(field_)
                if value not in (None, ""):
                    ws.append([field_, _xl(value)])
            ws.append(["Exchanges"])
            ws.append(EXCHANGE_COLUMNS)
            for exc in sorted(act.exchanges(), key=lambda e: ({"production": 0, "technosphere": 1, "biosphere": 2}[e["type"]])):
                node = exc.input
                row = {
                    "name": node["name"],
                    "amount": exc["amount"],
                    "unit": node.get("unit"),
                    "type": exc["type"],
                    **{k: exc.get(k) for k in ("formula", "uncertainty type", "loc", "scale", "minimum", "maximum", "uncertainty source", "source", "comment")},
                }
                if exc["type"] == "biosphere":
                    row["categories"] = "::".join(node.get("categories", ()))
                else:
                    row.update({"location": node.get("location"), "reference product": node.get("reference product"), "database": node["database"]})
                if row.get("uncertainty type") in (0, 1):
                    for k in ("uncertainty type", "loc", "scale", "minimum", "maximum"):
                        row.pop(k, None)
                ws.append([_xl(row.get(c)) for c in EXCHANGE_COLUMNS])
            ws.append([])
        ws.column_dimensions["A"].width = 40
    wb.save(path)
    return [_sheet_title(n) for n in databases]


def _sheet_title(name: str) -> str:
    title = "".join("#" if ch in "\\/*[]:?" else ch for ch in name)
    return title[:31]


def _xl(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, (list, tuple)):
        return "::".join(str(v) for v in value)
    return value


class _Cell:
    """Where a value sits in a workbook, for error messages (sheet, row, column)."""

    def __init__(self, path: Path, sheet: str, row: int, what: str = ""):
        self.path, self.sheet, self.row, self.what = path, sheet, row, what

    def error(self, problem: str, column: str | None = None) -> AicomputeError:
        import re

        if column is None:  # name the column that the problem is about
            m = re.search(r"field '([^']+)'", problem)
            for test, name in (
                (m is not None, m.group(1) if m else None),
                (problem.startswith("unit "), "unit"),
                (problem.startswith("formula "), "formula"),
                (problem.startswith("amount ") or "negative" in problem, "amount"),
                (problem.startswith("biosphere flow "), "name"),
                (problem.startswith("water does not balance"), "amount"),
                ("uncertainty" in problem or "range" in problem, "uncertainty type"),
            ):
                if test:
                    column = name
                    break
        col = f", column {column!r}" if column else ""
        what = f" ({self.what})" if self.what else ""
        return AicomputeError(f"{self.path.name}: sheet {self.sheet!r}, row {self.row}{col}{what}: {problem}")


def _uncertainty_spec(d: dict) -> dict | None:
    """stats_arrays fields of a row -> the `uncertainty:` mapping of the YAML format."""
    import math

    kind = d.get("uncertainty type")
    if kind in (None, "", 0, 1):
        return None
    kind = int(kind)
    names = {2: "lognormal", 3: "normal", 4: "uniform", 5: "triangular"}
    if kind not in names:
        return {"type": f"stats_arrays id {kind}"}
    spec: dict[str, Any] = {"type": names[kind]}
    if kind == 2:
        spec["gsd"] = math.exp(float(d.get("scale") or 0))
    elif kind == 3:
        spec["sd"] = d.get("scale")
    else:
        spec.update(minimum=d.get("minimum"), maximum=d.get("maximum"))
    if d.get("uncertainty source"):
        spec["source"] = d["uncertainty source"]
    return spec


def _rows(ws) -> list[tuple[int, list]]:
    return [(i, [_cell(v) for v in row]) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)]


def read_inventory_workbook(path: Path) -> list:
    """Read and validate an inventory workbook (the layout of `export_inventories`) with the
    rules of `inventories/`; return `InventoryDatabase` objects ready to write. Errors name the
    sheet, row and column."""
    import bw2data as bd
    from bw2data.backends import ActivityDataset as AD

    from . import inventory as inv
    from .project import find_biosphere, flow_index

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, data_only=True, read_only=True)
    except Exception as exc:
        raise AicomputeError(f"{path}: not a readable Excel workbook ({exc})") from None
    biosphere = find_biosphere(bd)
    if biosphere is None:
        raise AicomputeError("the project has no biosphere database; run: aicompute setup")
    flows = flow_index(biosphere)
    code_of = {i: c for i, c in AD.select(AD.id, AD.code).where(AD.database == biosphere).tuples()}
    parsed = []  # (db, [(ds dict, where, [exchange rows], exchange wheres)])
    for ws in wb.worksheets:
        rows = _rows(ws)
        if not rows or not rows[0][1] or rows[0][1][0] in (None, "skip"):
            continue
        sheet = ws.title
        if str(rows[0][1][0]).lower() != "database" or len(rows[0][1]) < 2 or not rows[0][1][1]:
            raise _Cell(path, sheet, 1).error("the first row must be 'Database | <name>'", column="A")
        db = inv.InventoryDatabase(str(rows[0][1][1]))
        db.files.append(path)
        activities = []
        i = 1
        while i < len(rows):
            r, line = rows[i]
            head = str(line[0]).strip().lower() if line and line[0] is not None else ""
            if head == "database parameters":
                header = [str(h) if h is not None else "" for h in rows[i + 1][1]]
                i += 2
                while i < len(rows) and any(v is not None for v in rows[i][1]):
                    pr, values = rows[i]
                    d = {h: v for h, v in zip(header, values) if h and v is not None}
                    where = _Cell(path, sheet, pr, f"parameter {d.get('name')!r}")
                    p = {k: d[k] for k in ("name", "unit", "source", "comment") if k in d}
                    if d.get("formula"):
                        p["formula"] = str(d["formula"])
                    elif "amount" in d:
                        p["amount"] = d["amount"]
                    if _uncertainty_spec(d):
                        p["uncertainty"] = _uncertainty_spec(d)
                    try:
                        inv._check_parameter(p, inv._Where(path, ""))
                    except AicomputeError as exc:
                        raise where.error(str(exc).split(": ", 2)[-1]) from None
                    if p["name"] in db.parameters:
                        raise where.error(f"parameter {p['name']!r} defined twice", column="name")
                    db.parameters[p["name"]] = {**p, "_where": inv._Where(path, f"sheet {sheet!r}, row {pr}")}
                    i += 1
                continue
            if head == "activity":
                act_row = r
                meta = {"name": line[1] if len(line) > 1 else None}
                i += 1
                while i < len(rows) and rows[i][1] and str(rows[i][1][0] or "").strip().lower() not in ("exchanges", "activity", ""):
                    meta[str(rows[i][1][0]).strip()] = rows[i][1][1] if len(rows[i][1]) > 1 else None
                    i += 1
                excs = []
                if i < len(rows) and str(rows[i][1][0] or "").strip().lower() == "exchanges":
                    header = [str(h) if h is not None else "" for h in rows[i + 1][1]]
                    i += 2
                    while i < len(rows) and any(v is not None for v in rows[i][1]):
                        er, values = rows[i]
                        excs.append((er, {h: v for h, v in zip(header, values) if h and v is not None}))
                        i += 1
                activities.append((act_row, meta, excs))
                continue
            i += 1
        parsed.append((db, sheet, activities))

    # providers by (database, name, reference product, unit, location), in the workbook or installed
    index: dict[tuple, str] = {}
    for db, _, activities in parsed:
        for _, meta, _ in activities:
            key = (db.name, meta.get("name"), meta.get("reference product", meta.get("name")), str(meta.get("location", "GLO")))
            index[key] = str(meta.get("code"))
    in_workbook = {db.name for db, _, _ in parsed}

    def provider(dbname: str, d: dict, where: _Cell) -> tuple[str, str]:
        key = (dbname, d.get("name"), d.get("reference product", d.get("name")), str(d.get("location", "GLO")))
        if key in index:
            return (dbname, index[key])
        if dbname not in in_workbook and dbname in bd.databases:
            for node in bd.Database(dbname):
                if (node["name"], node.get("reference product", node["name"]), str(node.get("location", "GLO"))) == key[1:]:
                    return (dbname, node["code"])
        raise where.error(f"no provider {d.get('name')!r} [{d.get('location')}] ({d.get('reference product')}) in database {dbname!r}", column="name")

    for db, sheet, activities in parsed:
        inv._evaluate_parameters(db.parameters, db.name)
        for p in db.parameters.values():
            p["_uncertainty"] = inv._uncertainty(p.get("uncertainty"), p["amount"], p["_where"])
        for act_row, meta, excs in activities:
            where = _Cell(path, sheet, act_row, f"activity {meta.get('name')!r}")
            for key in ("code", "unit"):
                if not meta.get(key):
                    raise where.error(f"missing field {key!r}")
            ds = {k: meta[k] for k in ("code", "name", "reference product", "unit", "location", "comment", "stage") if meta.get(k) is not None}
            ds["comment"] = ds.get("comment", "")
            ds["exchanges"] = []
            wheres = []
            for er, d in excs:
                ew = _Cell(path, sheet, er, f"exchange {d.get('name')!r}")
                kind = d.get("type")
                if kind == "production":
                    continue
                if kind not in ("technosphere", "biosphere"):
                    raise ew.error(f"type {kind!r} must be production, technosphere or biosphere", column="type")
                exc = {k: d[k] for k in ("unit", "source", "comment") if k in d}
                exc["amount"] = str(d["formula"]) if d.get("formula") else d.get("amount")
                if exc["amount"] is None:
                    raise ew.error("missing amount", column="amount")
                if _uncertainty_spec(d) and not d.get("formula"):
                    exc["uncertainty"] = _uncertainty_spec(d)
                if kind == "biosphere":
                    cats = [c for c in str(d.get("categories", "")).split("::") if c]
                    exc["biosphere"] = [d.get("name"), cats]
                else:
                    exc["technosphere"] = list(provider(str(d.get("database", db.name)), d, ew))
                ds["exchanges"].append(exc)
                wheres.append(ew)
            inv._add_dataset(db, ds, where, flows, biosphere, code_of, exchange_where=wheres)
    dbs = {db.name: db for db, _, _ in parsed}
    if not dbs:
        raise AicomputeError(f"{path.name}: no sheet starts with a 'Database | <name>' row")
    installed_keys = {}
    for db in dbs.values():
        for ds in db.datasets.values():
            for exc in ds["exchanges"]:
                if exc["type"] == "technosphere" and exc["input"][0] != db.name:
                    db.depends.add(exc["input"][0])
    # links to installed databases are checked like links inside the workbook
    for dep in {d for db in dbs.values() for d in db.depends} - set(dbs):
        for node in bd.Database(dep):
            installed_keys[(dep, node["code"])] = {"unit": node.get("unit")}
    extra = inv.InventoryDatabase("__installed__")
    extra.datasets = installed_keys
    inv._check_links({**dbs, "__installed__": extra})
    ordered = inv._ordered({**{n: d for n, d in dbs.items()}, **{d: inv.InventoryDatabase(d) for d in {x for db in dbs.values() for x in db.depends} - set(dbs)}})
    from ._resources import fingerprint

    fp = fingerprint("import", path.read_bytes())
    result = []
    for db in ordered:
        if db.name in dbs:
            db.fingerprint = fp
            result.append(db)
    return result


def import_inventories(path: Path) -> list[tuple[str, int]]:
    """Validate an edited inventory workbook and install its databases (replacing only databases
    that bw_aicompute created). Returns (database, datasets) pairs."""
    import bw2data as bd

    from .inventory import write_database
    from .methods import OWNER_KEY
    from .project import find_biosphere

    path = Path(path)
    if not path.is_file():
        raise AicomputeError(f"{path}: workbook not found")
    databases = read_inventory_workbook(path)
    for db in databases:
        if db.name in bd.databases and OWNER_KEY not in bd.databases[db.name]:
            raise AicomputeError(f"database {db.name!r} exists and was not created by bw_aicompute; rename it in the workbook")
    biosphere = find_biosphere(bd)
    for db in databases:
        write_database(bd, db, biosphere, imported_from=str(path.name))
    return [(db.name, len(db.datasets)) for db in databases]
