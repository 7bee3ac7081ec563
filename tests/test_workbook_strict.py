"""The campaign workbook reader refuses what it would otherwise guess at: a key given twice (or
two keys for one field), a value without a key, a phase column given twice, a value under no
header, and a formula without a computed value (a workbook written by a program and never
opened in a spreadsheet); each with one message naming the sheet, row and column."""

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bw_aicompute import AicomputeError
from bw_aicompute.campaign.workbook import read_campaign_workbook
from bw_aicompute.cli import main

TEMPLATE = Path(__file__).parents[1] / "examples" / "campaign_template.xlsx"


def filled(tmp_path: Path, edit=None) -> Path:
    """The shipped template filled with a small campaign, then changed by `edit(wb)`."""
    path = tmp_path / "book.xlsx"
    shutil.copy(TEMPLATE, path)
    wb = openpyxl.load_workbook(path)
    values = {"campaign": {"name": "strict"}, "site": {"country": "FR"}, "hardware": {"gpu": "H100 SXM 80GB"}}
    for sheet, fields in values.items():
        for row in wb[sheet].iter_rows(min_row=2):
            if row[0].value in fields:
                row[1].value = fields[row[0].value]
    ws = wb["phases"]
    header = [c.value for c in ws[1]]
    ws.append([{"name": "pretraining", "kind": "pretraining", "gpu_hours": 1000}.get(h) for h in header])
    if edit:
        edit(wb)
    wb.save(path)
    return path


def row_of(ws, key: str) -> int:
    return next(r[0].row for r in ws.iter_rows() if r[0].value == key)


def refusal(path: Path) -> str:
    with pytest.raises(AicomputeError) as err:
        read_campaign_workbook(path)
    message = str(err.value)
    assert message.startswith(f"{path}: sheet ") and "\n" not in message
    return message


def test_filled_template_reads(tmp_path):
    def edit(wb):
        ws = wb["site"]
        ws.cell(row_of(ws, "grid_kg_co2e_per_kwh"), 2, 0.05)
        ws.cell(row_of(ws, "grid_source"), 2, "PPA")

    doc = read_campaign_workbook(filled(tmp_path, edit))
    assert doc["site"] == {"country": "FR", "grid": {"kg_co2e_per_kwh": 0.05, "source": "PPA"}}
    assert doc["phases"] == [{"name": "pretraining", "kind": "pretraining", "gpu_hours": 1000}]


def test_key_given_twice_names_both_rows(tmp_path):
    def edit(wb):
        wb["site"].append(["country", "DE"])

    path = filled(tmp_path, edit)
    ws = openpyxl.load_workbook(path)["site"]
    first, second = row_of(ws, "country"), ws.max_row
    message = refusal(path)
    assert f"sheet 'site', row {second}, column 'key': key 'country' is also in row {first}: keep one row per key" in message


def test_two_keys_for_one_field(tmp_path):
    """`grid` (a value) and `grid_source` (a field inside the grid) would set site.grid twice:
    today a traceback or one of them lost."""

    def edit(wb):
        ws = wb["site"]
        ws.cell(row_of(ws, "grid_source"), 2, "PPA")
        ws.append(["grid", 0.05])

    message = refusal(filled(tmp_path, edit))
    assert "key 'grid' and key 'grid_kg_co2e_per_kwh'" in message and "both set field 'site.grid'" in message


def test_phase_column_given_twice_names_both_columns(tmp_path):
    def edit(wb):
        ws = wb["phases"]
        ws.cell(1, ws.max_column + 1, "gpu_hours")
        ws.cell(3, ws.max_column, 5000)

    path = filled(tmp_path, edit)
    ws = openpyxl.load_workbook(path)["phases"]
    first = openpyxl.utils.get_column_letter([c.value for c in ws[1]].index("gpu_hours") + 1)
    last = openpyxl.utils.get_column_letter(ws.max_column)
    message = refusal(path)
    assert f"sheet 'phases', row 1, column 'gpu_hours': header 'gpu_hours' is in columns {first} and {last}" in message


def test_value_without_key_names_its_cell(tmp_path):
    def edit(wb):
        ws = wb["hardware"]
        ws.cell(ws.max_row + 2, 2, 4.5)

    path = filled(tmp_path, edit)
    row = openpyxl.load_workbook(path)["hardware"].max_row
    assert f"sheet 'hardware', row {row}, column 'key': a value (4.5) without a key" in refusal(path)


def test_phase_value_under_no_header(tmp_path):
    def edit(wb):
        ws = wb["phases"]
        ws.cell(3, ws.max_column + 2, "x" * 2000)

    path = filled(tmp_path, edit)
    column = openpyxl.utils.get_column_letter(openpyxl.load_workbook(path)["phases"].max_column)
    message = refusal(path)
    assert f"sheet 'phases', row 3, column '{column}': a value ('xxx" in message and "in a column without a header" in message
    assert len(message) < 500  # the 2,000-character cell is not quoted whole


def with_cached_values(path: Path, values: dict[str, str]) -> None:
    """Give formula cells of sheet `site` a computed value, as a spreadsheet saves it:
    coordinate -> `<v>` text (a text result "" is `t="str"` with an empty `<v>`)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    part = wb["site"]._worksheet_path
    wb.close()
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    xml = parts[part].decode()
    for coordinate, value in values.items():
        text_type = ' t="str"' if value == "" else ""
        xml, n = re.subn(rf'<c r="{coordinate}"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?</c>', lambda m: f'<c r="{coordinate}"{m[1]}{text_type}><f>{m[2]}</f><v>{value}</v></c>', xml)
        assert n == 1, coordinate
    parts[part] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def test_formula_without_computed_value_is_refused(tmp_path):
    """A formula typed by a program (openpyxl) and never computed reads as blank with
    data_only: refused at its cell; the same formula with the value a spreadsheet saves is read."""

    def edit(wb):
        ws = wb["site"]
        ws.cell(row_of(ws, "pue"), 2, "=1+0.2")
        ws.cell(row_of(ws, "grid_source"), 2, '=IF(1,"","x")')

    path = filled(tmp_path, edit)
    ws = openpyxl.load_workbook(path)["site"]
    pue, source = row_of(ws, "pue"), row_of(ws, "grid_source")
    message = refusal(path)
    assert message == f"{path}: sheet 'site', row {pue}, column 'value': a formula without a computed value ('=1+0.2'): open and save the workbook in Excel or LibreOffice, or type the value"
    with_cached_values(path, {f"B{pue}": "1.2", f"B{source}": ""})
    site = read_campaign_workbook(path)["site"]
    assert site == {"country": "FR", "pue": 1.2}  # the text result "" is a computed blank


def test_formula_in_a_phase_through_the_command(ready_dir, tmp_path, capsys):
    def edit(wb):
        ws = wb["phases"]
        column = [c.value for c in ws[1]].index("gpu_hours") + 1
        ws.cell(3, column, "=SUM(1000,24)")

    path = filled(tmp_path, edit)
    out = tmp_path / "out.json"
    assert main(["assess", str(path), "--indicator", "climate", "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"aicompute: error: {path}: sheet 'phases', row 3, column 'gpu_hours': a formula without a computed value ('=SUM(1000,24)'): open and save the workbook in Excel or LibreOffice, or type the value\n"
    assert not out.exists()
