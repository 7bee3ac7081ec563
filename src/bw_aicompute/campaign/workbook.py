"""The campaign workbook: a blank template with one sheet per section and a help column, and
its reader, which returns the same document as a campaign YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._resources import atomic_write, check_workbook_archive
from ..errors import AicomputeError
from .schema import KINDS, PHASE_KEYS

# key, help text; nested keys are written flat in the workbook ("grid_kg_co2e_per_kwh")
TEMPLATE = {
    "campaign": [
        ("name", "Campaign name (required)"),
        ("description", "What the campaign is"),
    ],
    "site": [
        ("country", "ISO 3166 two-letter code of the grid (FR, US, DE...) or GLO"),
        ("profile", "ai-cluster (default) | enterprise | hyperscaler | free-cooled-colocation (facility PUE and WUE)"),
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
        ("node_overhead_share", "Default power of the rest of the node per W of the GPUs (0.43)"),
        ("node_overhead_w_per_gpu", "Or a fixed node power besides the GPUs, W per GPU (replaces the share)"),
    ],
}
PHASE_COLUMNS = list(PHASE_KEYS)  # one column per phase field of the campaign files
NESTED = {
    "site": {"grid_": "grid"},
    "hardware": {"gpu_embodied_": "gpu_embodied", "server_embodied_": "server_embodied"},
}


#: Drop-down lists of the template: (sheet, key or phase column) -> list name.
DROPDOWNS = {("site", "country"): "countries", ("site", "profile"): "profiles", ("site", "wue_basis"): "wue_basis",
             ("hardware", "gpu"): "gpus", ("hardware", "datacenter_infrastructure"): "booleans", ("defaults", "kind"): "kinds",
             ("phases", "kind"): "kinds", ("phases", "gpu"): "gpus"}


def _dropdowns(wb, lists: dict[str, list[str]]) -> None:
    """Drop-down lists (data validation) on the cells of `DROPDOWNS`, from a hidden sheet `lists`."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    ws = wb.create_sheet("lists")
    ranges = {}
    for k, (name, values) in enumerate(lists.items(), start=1):
        ws.cell(row=1, column=k, value=name)
        for i, v in enumerate(values, start=2):
            ws.cell(row=i, column=k, value=v)
        ranges[name] = f"lists!${get_column_letter(k)}$2:${get_column_letter(k)}${len(values) + 1}"
    ws.sheet_state = "hidden"
    for (sheet, key), name in DROPDOWNS.items():
        dv = DataValidation(type="list", formula1=ranges[name], allow_blank=True, showErrorMessage=False)
        wb[sheet].add_data_validation(dv)
        if sheet == "phases":
            col = get_column_letter(PHASE_COLUMNS.index(key) + 1)
            dv.add(f"{col}2:{col}1000")
        else:
            row = next(i for i, (k, _) in enumerate(TEMPLATE[sheet], start=2) if k == key)
            dv.add(f"B{row}")


def write_template(path: Path, lists: dict[str, list[str]] | None = None) -> None:
    """Write a blank campaign workbook with one sheet per section and a help column, and, with
    `lists` (countries, profiles, gpus, kinds...: `campaign.read.template_lists`), drop-down lists
    on the cells that take one of them."""
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
    ws.append(["# one row per phase; give gpu_hours, or nodes + hours, or gpus + hours, or telemetry (a power log file); energy (kWh, or '12 MWh') replaces the power model; kinds: " + ", ".join(KINDS)])
    if lists:
        _dropdowns(wb, {**lists, "wue_basis": ["consumption", "withdrawal"], "booleans": ["TRUE", "FALSE"], "kinds": list(KINDS)})
    atomic_write(path, wb.save)


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def read_campaign_workbook(path: Path, cells: dict | None = None) -> dict:
    """Read a campaign workbook into the same structure as a campaign YAML file; `cells` (if
    given) gets the place of each field: dotted field -> (sheet, row, column header)."""
    cells = {} if cells is None else cells
    from openpyxl import load_workbook

    check_workbook_archive(path)
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
            nested = next(((prefix, name) for prefix, name in NESTED.get(sheet, {}).items() if key.startswith(prefix)), None)
            field_ = f"{sheet}.{nested[1]}.{key[len(nested[0]):]}" if nested else f"{sheet}.{key}"
            cells[field_] = (sheet, i, "value")  # blank too: a required blank value is named at its cell
            if value is None:
                continue
            if nested:
                section.setdefault(nested[1], {})[key[len(nested[0]):]] = value
            else:
                section[key] = value
        doc[sheet] = section
    if "phases" not in wb.sheetnames:
        raise AicomputeError(f"{path}: sheet 'phases' is missing")
    rows = list(wb["phases"].iter_rows(values_only=True))
    if not rows:
        raise AicomputeError(f"{path}: sheet 'phases' is empty")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    phases = []
    for i, row in enumerate(rows[1:], start=2):
        if not row or (isinstance(row[0], str) and row[0].startswith("#")):
            continue
        record = {h: _cell(v) for h, v in zip(header, row) if h and _cell(v) is not None}
        if record:
            phases.append(record)
            cells[f"phases[{len(phases)}]"] = ("phases", i, None)
            cells.update({f"phases[{len(phases)}].{h}": ("phases", i, h) for h in record})
    doc["phases"] = phases
    return doc
