"""The campaign workbook: a blank template with one sheet per section and a help column, and
its reader, which returns the same document as a campaign YAML file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._resources import atomic_write, check_workbook_archive
from ..errors import AicomputeError, InputError, Where, quote
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
    "model": [
        ("parameters", "The trained model's parameters, for --per parameter (SCI for AI): 7e9 or 7B"),
        ("training_tokens", "Tokens of its training data, for --per 'training token': 2.1e12 or 2.1T tokens"),
        ("training_flops", "Training FLOP, for --per PFLOP: 6.3e23 or 6.3e23 FLOP (default: 6 x parameters x tokens, an estimate)"),
        ("source", "Where the model's size comes from"),
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


#: A formula element in a part of the archive (`<f>`, `<f t="shared" .../>`, `<x:f>`).
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
#: Cell types whose empty `<v>` is a computed value: a formula's text result "".
_TEXT_TYPES = ("str", "s", "inlineStr")
#: The key/value sheets of the campaign workbook, in reading order.
KEY_SHEETS = ("campaign", "site", "hardware", "defaults", "model")


def uncomputed_formulas(path: Path, wb: Any, titles: Iterable[str]) -> dict[str, dict[tuple[int, int], str]]:
    """The cells of the sheets `titles` that hold a formula without a computed value.

    A workbook written by a program (openpyxl, pandas) and never opened in a spreadsheet has
    formulas but no computed values: read with `data_only=True` such a cell is blank. A
    formula whose result is the text "" (a computed value) is not one of them.

    Parameters
    ----------
    path : Path
        The workbook file (a zip archive already checked by `check_workbook_archive`).
    wb : openpyxl.Workbook
        The same workbook, open read-only (its worksheets know their part of the archive).
    titles : iterable of str
        The sheets to look at (those missing from the workbook are skipped).

    Returns
    -------
    dict
        Sheet title -> {(row, column) 1-based: the formula as typed (`=SUM(B2:B3)`)}; sheets
        without such a cell are left out.
    """
    import zipfile
    from xml.etree.ElementTree import ParseError

    out = {}
    with zipfile.ZipFile(path) as zf:
        for title in titles:
            part = getattr(wb[title], "_worksheet_path", None) if title in wb.sheetnames else None
            try:
                if part is None or not _FORMULA_TAG.search(zf.read(part)):
                    continue
                with zf.open(part) as src:
                    found = _scan_formulas(src)
            except (KeyError, ValueError, ParseError, zipfile.BadZipFile) as exc:  # openpyxl would fail on it too
                raise AicomputeError(f"{path}: not a readable Excel workbook (sheet {title!r}: {quote(str(exc))})") from None
            if found:
                out[title] = found
    return out


def _scan_formulas(src: Any) -> dict[tuple[int, int], str]:
    """{(row, column): formula} of the cells of a worksheet's XML that have a formula (`<f>`)
    and no computed value (no `<v>`, or an empty one in a cell that is not of a text type)."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import coordinate_to_tuple

    found: dict[tuple[int, int], str] = {}
    row = col = 0
    for event, el in iterparse(src, events=("start", "end")):
        tag = el.tag.rsplit("}", 1)[-1]
        if event == "start":
            if tag == "row":
                row, col = int(el.get("r") or row + 1), 0
            continue
        if tag == "row":
            el.clear()
        if tag != "c":
            continue
        row, col = coordinate_to_tuple(el.get("r")) if el.get("r") else (row, col + 1)
        parts = {ch.tag.rsplit("}", 1)[-1]: ch for ch in el}
        if "f" in parts and not (parts.get("v") is not None and parts["v"].text) and el.get("t", "n") not in _TEXT_TYPES:
            found[(row, col)] = "=" + parts["f"].text if parts["f"].text else ""
        el.clear()
    return found


def uncomputed_error(where: Where, formula: str) -> InputError:
    """The error for a cell holding `formula` without a computed value, at `where` (its sheet,
    row and column)."""
    shown = f" ({quote(formula)})" if formula else ""
    return where.error(f"a formula without a computed value{shown}: open and save the workbook in Excel or LibreOffice, or type the value")


def _header_name(header: tuple, col: int) -> str:
    """The column header of 1-based column `col` (its letter where the header is blank)."""
    from openpyxl.utils import get_column_letter

    name = _cell(header[col - 1]) if col <= len(header) else None
    return str(name) if name is not None else get_column_letter(col)


def _rows(wb: Any, sheet: str, where: Where, formulas: dict[tuple[int, int], str], columns: int | None = None) -> list[tuple]:
    """The rows of a sheet as values; an error at the first cell (of the first `columns`
    columns, the ones read) holding a formula without a computed value (read as blank, it
    would be taken for an empty cell)."""
    rows = list(wb[sheet].iter_rows(values_only=True))
    formulas = {cell: f for cell, f in formulas.items() if columns is None or cell[1] <= columns}
    if formulas:
        row, col = min(formulas)
        raise uncomputed_error(where.at(row=row, column=_header_name(rows[0] if rows else (), col)), formulas[(row, col)])
    return rows


def _field(sheet: str, key: str) -> tuple[str, tuple[str, ...]]:
    """The dotted field of `key` on a key/value sheet, and its path in the section."""
    nested = next(((prefix, name) for prefix, name in NESTED.get(sheet, {}).items() if key.startswith(prefix)), None)
    path = (nested[1], key[len(nested[0]) :]) if nested else (key,)
    return ".".join((sheet, *path)), path


def _key_values(rows: list[tuple], sheet: str, where: Where, cells: dict) -> dict:
    """The section of a key/value sheet (key in column A, value in column B; row 1 is the
    header); an error for a value without a key, a key given twice, or two keys that set the
    same field (`grid` and `grid_source`)."""
    section: dict = {}
    seen: dict[str, tuple[int, str]] = {}  # field, and each field it is inside -> (row, key)
    for i, row in enumerate(rows[1:], start=2):
        key, value = (_cell(row[0]) if row else None), (_cell(row[1]) if len(row) > 1 else None)
        if key is None:
            if value is not None:
                raise where.error(f"a value ({quote(value)}) without a key: type its key in column A, or clear the value", row=i, column="key")
            continue
        key = str(key)
        field_, path = _field(sheet, key)
        _check_unique(seen, field_, key, where.at(row=i, column="key"))
        seen[field_] = (i, key)
        for k in range(1, len(path)):
            seen.setdefault(".".join((sheet, *path[:k])) + ".*", (i, key))
        cells[field_] = (sheet, i, "value")  # blank too: a required blank value is named at its cell
        if value is not None:
            target = section
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = value
    return section


def _check_unique(seen: dict[str, tuple[int, str]], field_: str, key: str, where: Where) -> None:
    """An error where the field of `key` is set by an earlier row of the sheet: the same key, or
    a key for a field inside or around it (`grid` and `grid_source` of the site). `seen` holds
    the fields of the earlier rows, and `F.*` for each field F that holds one of them."""
    parts = field_.split(".")
    around = (".".join(parts[:k]) for k in range(2, len(parts)))
    earlier = next((f for f in (field_, field_ + ".*", *around) if f in seen), None)
    if earlier is None:
        return
    row, other = seen[earlier]
    if other == key:
        raise where.error(f"key {quote(key)} is also in row {row}: keep one row per key")
    raise where.error(f"key {quote(key)} and key {quote(other)} (row {row}) both set field {earlier.removesuffix('.*')!r}: keep one of them")


def _phases(rows: list[tuple], where: Where, cells: dict) -> list[dict]:
    """The phases of the `phases` sheet (one per row, the header in row 1; `#` rows are
    comments); an error for a header given twice or a value under no header."""
    from openpyxl.utils import get_column_letter

    header = [str(_cell(h)) if _cell(h) is not None else "" for h in rows[0]]
    for k, h in enumerate(header):
        if h and h in header[:k]:
            first = get_column_letter(header.index(h) + 1)
            raise where.error(f"header {quote(h)} is in columns {first} and {get_column_letter(k + 1)}: keep one column per field", row=1, column=h)
    phases = []
    for i, row in enumerate(rows[1:], start=2):
        if not row or (isinstance(row[0], str) and row[0].startswith("#")):
            continue
        stray = next((k for k, v in enumerate(row) if _cell(v) is not None and (k >= len(header) or not header[k])), None)
        if stray is not None:
            raise where.error(f"a value ({quote(_cell(row[stray]))}) in a column without a header: type the field's name in row 1, or clear the value", row=i, column=get_column_letter(stray + 1))
        record = {h: _cell(v) for h, v in zip(header, row) if h and _cell(v) is not None}
        if record:
            phases.append(record)
            cells[f"phases[{len(phases)}]"] = ("phases", i, None)
            cells.update({f"phases[{len(phases)}].{h}": ("phases", i, h) for h in record})
    return phases


def read_campaign_workbook(path: Path, cells: dict | None = None) -> dict:
    """Read a campaign workbook into the same structure as a campaign YAML file.

    Parameters
    ----------
    path : Path
        The workbook (the layout of `write_template`).
    cells : dict, optional
        Gets the place of each field: dotted field -> (sheet, row, column header).

    Returns
    -------
    dict
        The campaign document (sections `campaign`, `site`, `hardware`, `defaults`, `phases`).

    Raises
    ------
    AicomputeError
        For a file that is not a workbook, a sheet missing, a value without a key, a key or a
        phase column given twice, a value under no header, or a formula without a computed
        value; the message names the sheet, row and column.
    """
    cells = {} if cells is None else cells
    from openpyxl import load_workbook

    check_workbook_archive(path)
    try:
        wb = load_workbook(path, data_only=True, read_only=True)
    except Exception as exc:  # openpyxl raises several types for broken files
        raise AicomputeError(f"{path}: not a readable Excel workbook ({exc})") from None
    for sheet in ("campaign", "site", "phases"):
        if sheet not in wb.sheetnames:
            raise AicomputeError(f"{path}: sheet {sheet!r} is missing")
    formulas = uncomputed_formulas(path, wb, (*KEY_SHEETS, "phases"))
    doc: dict = {}
    for sheet in KEY_SHEETS:
        if sheet in wb.sheetnames:
            where = Where(file=str(path), sheet=sheet)
            doc[sheet] = _key_values(_rows(wb, sheet, where, formulas.get(sheet, {}), columns=2), sheet, where, cells)
    where = Where(file=str(path), sheet="phases")
    rows = _rows(wb, "phases", where, formulas.get("phases", {}))
    if not rows:
        raise AicomputeError(f"{path}: sheet 'phases' is empty")
    doc["phases"] = _phases(rows, where, cells)
    return doc
