"""Excel round trip of the inventories: export, re-import with plain bw2io under new names (the
example campaigns give the same scores), and import of an edited workbook with validation."""

import json
import os
import shutil
from pathlib import Path

import bw2data as bd
import bw2io as bi
import openpyxl
import pytest
from bw2data.parameters import DatabaseParameter

from bw_aicompute import AicomputeError, setup_project
from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.lca import method_for, multi_scores
from bw_aicompute.methods import indicators

EXAMPLES = Path(__file__).parents[1] / "examples"
NEW = {"aicompute-background": "bg-copy", "aicompute": "fg-copy"}
LINK = ("name", "reference product", "unit", "location")


def plain_bw2io_import(workbook: Path) -> None:
    """What a user without bw_aicompute does (README, "Excel round trip")."""
    for sheet, new in NEW.items():
        imp = bi.ExcelImporter(str(workbook), sheet_name=sheet)
        imp.db_name = new
        for ds in imp.data:
            ds["database"] = new
        imp.apply_strategies(verbose=False)
        imp.match_database(fields=LINK)
        imp.match_database("aicompute-water-locations", fields=("name", "categories", "unit"), edge_kinds=["biosphere"])
        if new == "fg-copy":
            imp.match_database("bg-copy", fields=LINK)
        assert not list(imp.unlinked)
        imp.write_database()


def test_round_trip_with_plain_bw2io_gives_same_scores(ready_dir, exported_workbook, tmp_path):
    workbook = exported_workbook  # written by `aicompute export-inventories` (conftest)
    assert openpyxl.load_workbook(workbook, read_only=True).sheetnames == ["aicompute-water-locations", "aicompute-background", "aicompute"]
    plain_bw2io_import(workbook)
    assert len(bd.Database("fg-copy")) == len(bd.Database("aicompute"))
    assert len(bd.Database("bg-copy")) == len(bd.Database("aicompute-background"))
    # parameters, formulas, uncertainty, comments and sources came through
    assert DatabaseParameter.select().where(DatabaseParameter.database == "fg-copy").count() == DatabaseParameter.select().where(DatabaseParameter.database == "aicompute").count()
    life = DatabaseParameter.get(database="fg-copy", name="hw_lifetime_years")
    assert life.amount == 5.75 and life.data["uncertainty type"] == 10 and life.data["maximum"] == 6
    hour = bd.get_node(database="fg-copy", code="gpu-hour-h100_sxm_80gb-FR")
    energy = next(e for e in hour.technosphere() if e.input["code"] == "datacenter-operation-FR")
    assert energy["formula"] == "(h100_sxm_80gb_tdp_w * gpu_load_factor * (1 + node_overhead_share * h100_sxm_80gb_host_share) + node_overhead_w_per_gpu) / 1000"
    assert energy.input["database"] == "fg-copy"
    grid = bd.get_node(database="bg-copy", code="electricity-grid-FR")
    nuclear = next(e for e in grid.technosphere() if e.input["code"] == "electricity-nuclear-tower")
    assert nuclear.input["database"] == "bg-copy" and "generation share of nuclear" in nuclear["source"]
    assert grid["comment"].startswith("Average grid electricity generated in France")
    plant = bd.get_node(database="bg-copy", code="electricity-nuclear-tower")
    co2 = next(e for e in plant.biosphere() if e.input["name"] == "Carbon dioxide, fossil")
    assert "IPCC AR5" in co2["source"] and co2["uncertainty type"] == 2

    # example campaigns, relinked to the copies, give the same scores on every indicator: a
    # facility profile, a grid override with measured energy, study overrides, a deployment
    methods = [method_for(i)[1] for i in indicators()]
    for example in (EXAMPLES / n for n in ("moshi_like.yaml", "finetune_measured_ppa.yaml", "bloom.yaml", "moshi_like_serving.yaml")):
        a = assess(example, indicators=["climate"])
        data = bd.Database(a.database).load()
        copy = f"copy-{a.database}"[:60]
        relabelled = {}
        for (_, code), ds in data.items():
            ds = dict(ds)
            ds["exchanges"] = [
                {**e, "input": (copy if e["input"][0] == a.database else NEW.get(e["input"][0], e["input"][0]), e["input"][1])}
                | ({"output": (copy, code)} if "output" in e else {})
                for e in ds["exchanges"]
            ]
            relabelled[(copy, code)] = ds
        bd.Database(copy).write(relabelled)
        original = bd.get_node(database=a.database, code="campaign")
        copied = bd.get_node(database=copy, code="campaign")
        scores = multi_scores({"original": {original.id: 1.0}, "copy": {copied.id: 1.0}}, methods)
        scale = max(abs(scores[(m, "original")]) for m in methods)  # a zero is compared at the results' magnitude
        for m in methods:
            assert scores[(m, "copy")] == pytest.approx(scores[(m, "original")], rel=1e-6, abs=1e-12 * scale), (example.name, m)
            assert scores[(m, "original")] != 0 or m[0] == "bw_aicompute" or m[1] != "climate change"


def test_import_inventories_installs_and_setup_keeps_it(ready_dir, exported_workbook, tmp_path, capsys):
    before = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"]).totals["value"].iloc[0]
    workbook = tmp_path / "inv.xlsx"
    shutil.copy(exported_workbook, workbook)
    wb = openpyxl.load_workbook(workbook)
    ws = wb["aicompute"]
    # the user edits a parameter in Excel: utilisation 0.85 -> 0.6 (inside its range 0.5-0.95: the
    # distribution's median follows the new default)
    header_row = next(r for r in ws.iter_rows() if r[0].value == "name" and r[1].value == "amount")
    cols = {c.value: c.column - 1 for c in header_row}
    row = next(r for r in ws.iter_rows() if r[0].value == "utilisation")
    row[cols["amount"]].value = 0.6
    wb.save(workbook)
    assert main(["import-inventories", str(workbook)]) == 0
    assert "installed aicompute (896 datasets)" in capsys.readouterr().out
    assert DatabaseParameter.get(database="aicompute", name="utilisation").amount == 0.6
    after = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"]).totals["value"].iloc[0]
    assert after > before  # embodied shares grow when utilisation falls
    report = setup_project("aicompute")
    assert {(i.name, i.action) for i in report.items if i.kind == "database"} == {("aicompute", "kept"), ("aicompute-background", "kept")}
    report = setup_project("aicompute", reinstall=True)
    assert ("aicompute", "updated") in {(i.name, i.action) for i in report.items}
    assert DatabaseParameter.get(database="aicompute", name="utilisation").amount == 0.85


def edited(tmp_path, change, exported_workbook):
    workbook = tmp_path / "edit.xlsx"
    shutil.copy(exported_workbook, workbook)
    wb = openpyxl.load_workbook(workbook)
    where = change(wb)
    wb.save(workbook)
    return workbook, where


def find_exchange(ws, activity_code, input_name):
    rows = list(ws.iter_rows())
    start = next(i for i, r in enumerate(rows) if r[0].value == "code" and r[1].value == activity_code)
    header = next(i for i in range(start, len(rows)) if rows[i][0].value == "name" and rows[i][1].value == "amount")
    cols = {c.value: c.column - 1 for c in rows[header]}
    i = next(i for i in range(header + 1, len(rows)) if rows[i][0].value == input_name)
    return rows[i], cols


def test_edited_workbook_error_names_sheet_row_and_column(ready_dir, exported_workbook, tmp_path, capsys):
    """Through the command: one message naming the file, sheet, row and field; nothing written."""
    def change(wb):
        row, cols = find_exchange(wb["aicompute"], "gpu-hour-h100_sxm_80gb-FR", "datacenter operation, per kWh of IT energy, FR")
        row[cols["source"]].value = None
        return row[0].row

    state = {n: json.dumps(bd.databases[n], sort_keys=True, default=str) for n in bd.databases}
    workbook, row = edited(tmp_path, change, exported_workbook)
    assert main(["import-inventories", str(workbook)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aicompute: error: edit.xlsx: sheet 'aicompute', row {row}") and "missing field 'source'" in err
    assert {n: json.dumps(bd.databases[n], sort_keys=True, default=str) for n in bd.databases} == state


@pytest.mark.parametrize(
    "label, column, value, message",
    [
        ("unit typo", "unit", "kilowatt hours", "unit 'kilowatt hours'"),
        ("unknown provider", "name", "datacenter operation, per kWh of IT energy, Mars", "no provider"),
        ("negative amount", "amount", -1, "negative"),
        ("formula reading a file", "formula", "ord(open('/etc/hostname').read()[0])", "column 'formula'"),
    ],
)
def test_edited_workbook_errors_name_the_row(ready_dir, exported_grids, label, column, value, message):
    """The same validation on the sheet edited in memory (the workbook file read as above)."""
    from types import SimpleNamespace

    from bw_aicompute.excel.inventories import workbook_databases

    grid = exported_grids["aicompute"]
    rows = grid.rows
    start = next(i for i, r in enumerate(rows) if r[0] == "code" and r[1] == "gpu-hour-h100_sxm_80gb-FR")
    header = next(i for i in range(start, len(rows)) if rows[i][0] == "name" and rows[i][1] == "amount")
    cols = {name: k for k, name in enumerate(rows[header])}
    i = next(i for i in range(header + 1, len(rows)) if rows[i][0] == "datacenter operation, per kWh of IT energy, FR")
    saved = list(rows[i])
    rows[i][cols[column]] = value
    if column == "amount":
        rows[i][cols["formula"]] = None
    try:
        with pytest.raises(AicomputeError) as err:
            workbook_databases(SimpleNamespace(worksheets=[exported_grids["aicompute-background"], grid]), Path("edit.xlsx"))
    finally:
        rows[i] = saved
    assert str(err.value).startswith(f"edit.xlsx: sheet 'aicompute', row {i + 1}") and message in str(err.value)
    if column == "formula":  # formulas of a workbook are parsed, never run
        assert "only arithmetic" in str(err.value)


def user_database_linking_to_ours():
    """A user's own database with one activity that uses a GPU-hour of ours."""
    hour = bd.get_node(database="aicompute", code="gpu-hour-h100_sxm_80gb-FR")
    bd.Database("my study").write(
        {
            ("my study", "job"): {
                "name": "my training job",
                "unit": "unit",
                "location": "FR",
                "exchanges": [{"input": ("my study", "job"), "amount": 1, "type": "production"}, {"input": hour.key, "amount": 1000, "type": "technosphere"}],
            }
        }
    )
    return bd.get_node(database="my study", code="job")


def score(node):
    import bw2calc as bc

    lca = bc.LCA({node: 1}, method_for("climate")[1])
    lca.lci()
    lca.lcia()
    return lca.score


def background_only(exported_workbook):
    """The exported workbook without the foreground sheet and the location flows (which
    import-inventories skips), and its background sheet (the background-only file is made once
    per session: loading the whole workbook takes seconds)."""
    small = exported_workbook.parent / "background-only.xlsx"
    if not small.exists():  # the folder is shared by the workers: written whole, then renamed
        wb = openpyxl.load_workbook(exported_workbook)
        del wb["aicompute"]
        del wb["aicompute-water-locations"]
        part = small.with_name(f"{small.stem}.{os.getpid()}.xlsx")
        wb.save(part)
        os.replace(part, small)
    wb = openpyxl.load_workbook(small)
    return wb, wb["aicompute-background"]


def test_import_keeps_the_graph_whole(ready_dir, exported_workbook, tmp_path, capsys):
    campaign = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"]).totals["value"].iloc[0]
    job = user_database_linking_to_ours()
    before = score(job)
    workbook = tmp_path / "inv.xlsx"
    shutil.copy(exported_workbook, workbook)
    # only the background sheet: the foreground (not in the workbook) is re-processed
    wb, _ = background_only(exported_workbook)
    wb.save(tmp_path / "background.xlsx")
    assert main(["import-inventories", str(tmp_path / "background.xlsx")]) == 0
    out = capsys.readouterr().out
    assert "installed aicompute-background (244 datasets)" in out
    assert "updated aicompute: re-processed" in out  # the foreground links to the rewritten background
    assert score(bd.get_node(database="my study", code="job")) == pytest.approx(before, rel=1e-6)
    assert assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"]).totals["value"].iloc[0] == pytest.approx(campaign, rel=1e-9)
    # an unmodified export of both: the campaign is re-processed, the user's database reported
    assert main(["import-inventories", str(workbook)]) == 0
    out = capsys.readouterr().out
    assert "updated aicompute-campaign-moshi-like: re-processed" in out
    assert "stale my study" in out and "bw2data.Database('my study').process()" in out
    bd.Database("my study").process()  # the command the report gives
    assert score(bd.get_node(database="my study", code="job")) == pytest.approx(before, rel=1e-6)
    assert assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"]).totals["value"].iloc[0] == pytest.approx(campaign, rel=1e-9)
    # only the foreground sheet
    wb = openpyxl.load_workbook(workbook)
    del wb["aicompute-background"]
    wb.save(tmp_path / "foreground.xlsx")
    assert main(["import-inventories", str(tmp_path / "foreground.xlsx")]) == 0
    assert "stale my study" in capsys.readouterr().out
    bd.Database("my study").process()
    assert score(bd.get_node(database="my study", code="job")) == pytest.approx(before, rel=1e-6)
    assert assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"]).totals["value"].iloc[0] == pytest.approx(campaign, rel=1e-9)


def test_import_replaces_only_our_inventory_databases(ready_dir, exported_workbook, tmp_path, capsys):
    assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"])
    user_database_linking_to_ours()
    state = {n: json.dumps(bd.databases[n], sort_keys=True, default=str) for n in bd.databases}
    wb, ws = background_only(exported_workbook)
    for name in ["biosphere3", "aicompute-campaign-moshi-like", "my study"]:
        workbook = tmp_path / f"{name}.xlsx"
        ws["B1"] = name
        wb.save(workbook)
        assert main(["import-inventories", str(workbook)]) == 2
        assert "is not one of bw_aicompute's inventory databases" in capsys.readouterr().err
        assert {n: json.dumps(bd.databases[n], sort_keys=True, default=str) for n in bd.databases} == state


def test_import_refuses_a_workbook_that_drops_a_provider(ready_dir, exported_workbook, tmp_path, capsys):
    workbook = tmp_path / "inv.xlsx"
    wb, ws = background_only(exported_workbook)
    rows = list(ws.iter_rows())
    start = next(i for i, r in enumerate(rows) if r[0].value == "code" and r[1].value == "electricity-grid-FR") - 1
    end = next(i for i in range(start + 1, len(rows)) if rows[i][0].value == "Activity")
    ws.delete_rows(start + 1, end - start)
    wb.save(workbook)
    assert main(["import-inventories", str(workbook)]) == 2
    err = capsys.readouterr().err
    assert "'aicompute' links to 'electricity-grid-FR' of 'aicompute-background', which the workbook does not have" in err


def test_workbook_whose_last_row_is_exchanges(ready_dir, exported_workbook, tmp_path, capsys):
    workbook = tmp_path / "inv.xlsx"
    wb, ws = background_only(exported_workbook)
    last = ws.max_row + 2  # after an empty row, as in an export
    ws.cell(last, 1, "Activity"), ws.cell(last, 2, "a new one")
    ws.cell(last + 1, 1, "code"), ws.cell(last + 1, 2, "new")
    ws.cell(last + 2, 1, "Exchanges")
    wb.save(workbook)
    assert main(["import-inventories", str(workbook)]) == 2
    assert "missing field 'unit'" in capsys.readouterr().err


def test_layout_fits_text_columns_into_a_page_width():
    """Text columns are narrowed (and wrap) until the sheet fits the page width; numbers keep
    their width; a wrapped text's line count follows its words."""
    from bw_aicompute.excel.layout import MIN_TEXT_WIDTH, PAGE_WIDTH, _lines, fit

    natural = {1: (60, True), 2: (60, True), 3: (40, True), 4: (14, False)}
    w = fit(natural)
    assert sum(w.values()) == PAGE_WIDTH and w[4] == 14 and w[1] == w[2] >= w[3]
    assert fit({1: (20, False), 2: (200, True)}, page=30) == {1: 20, 2: MIN_TEXT_WIDTH}  # never below the minimum
    assert _lines("one two three", 7) == 2 and _lines("a" * 25, 10) == 3 and _lines("", 5) == 1


# ---------------------------------------------------------------------------------------------
# edits the reader would otherwise ignore or guess at: refused, naming sheet, row and column


def grid_refusal(exported_grids, edit, sheet="aicompute-background") -> tuple[str, int]:
    """Validate the exported sheets after `edit(rows)` (which returns the 1-based row the message
    must name) changed `sheet` in memory; the sheet is put back. Returns the message and row."""
    from types import SimpleNamespace

    from bw_aicompute.excel.inventories import workbook_databases

    grid = exported_grids[sheet]
    saved = [list(r) for r in grid.rows]
    worksheets = [exported_grids["aicompute-background"]] + ([grid] if sheet != "aicompute-background" else [])
    try:
        row = edit(grid.rows)
        with pytest.raises(AicomputeError) as err:
            workbook_databases(SimpleNamespace(worksheets=worksheets), Path("edit.xlsx"))
    finally:
        grid.rows[:] = saved
    message = str(err.value)
    assert message.startswith(f"edit.xlsx: sheet '{sheet}', row {row}") and "\n" not in message, message
    return message, row


def block(rows, code):
    """(index of the `code` row, index of the exchange header, column index by header) of an
    activity of a grid."""
    start = next(i for i, r in enumerate(rows) if r[0] == "code" and r[1] == code)
    header = next(i for i in range(start, len(rows)) if rows[i][0] == "name" and rows[i][1] == "amount")
    return start, header, {name: k for k, name in enumerate(rows[header]) if name}


def test_edited_production_amount_is_refused(ready_dir, exported_grids):
    """The production amount is the package's 1 (each activity makes one unit of its product):
    an edit was ignored, now refused at its cell."""

    def edit(rows):
        _, header, cols = block(rows, "aluminium-kg")
        assert rows[header + 1][cols["type"]] == "production" and rows[header + 1][cols["amount"]] == 1
        rows[header + 1][cols["amount"]] = 2
        return header + 2

    message, row = grid_refusal(exported_grids, edit)
    assert f"row {row}, column 'amount' (exchange 'aluminium, primary, ingot'): production amount 2 is not read: an activity here makes 1 unit of its reference product" in message


@pytest.mark.parametrize(
    "field_, says",
    [
        ("commnet", "column 'A' (activity 'aluminium, primary, ingot'): unknown field 'commnet' in the activity's block (did you mean 'comment'?)"),
        ("location", "field 'location' is also in row"),
    ],
)
def test_a_misspelt_or_repeated_activity_field_is_refused(ready_dir, exported_grids, field_, says):
    """The dataset's `comment` row renamed: a misspelling is refused with the close match, a
    field given twice names both rows."""

    def edit(rows):
        start, header, _ = block(rows, "aluminium-kg")
        i = next(i for i in range(start, header) if rows[i][0] == "comment")
        rows[i][0] = field_
        return i + 1

    message, _ = grid_refusal(exported_grids, edit)
    assert says in message


def test_lognormal_minimum_is_refused(ready_dir, exported_grids):
    """A lognormal is read from its scale about the amount: a minimum typed into its row was
    dropped silently, now refused at its cell."""

    def edit(rows):
        header = next(i for i, r in enumerate(rows) if r[0] == "name" and r[1] == "amount" and "type" in r)
        cols = {name: k for k, name in enumerate(rows[header]) if name}
        i = next(i for i in range(header, len(rows)) if rows[i][cols["uncertainty type"]] == 2 and rows[i][cols["type"]] == "biosphere")
        rows[i][cols["minimum"]] = 100
        return i + 1

    message, row = grid_refusal(exported_grids, edit)
    assert f"row {row}, column 'minimum'" in message and "a lognormal here is given by its scale" in message and "minimum/maximum are not read for it" in message


def test_normal_parameter_maximum_is_refused(ready_dir, exported_grids):
    def edit(rows):
        header = next(i for i, r in enumerate(rows) if r[0] == "name" and r[1] == "amount")
        cols = {name: k for k, name in enumerate(rows[header]) if name}
        i = next(i for i in range(header, len(rows)) if rows[i][cols["uncertainty type"]] == 3)
        rows[i][cols["maximum"]] = 0.5
        return i + 1

    message, row = grid_refusal(exported_grids, edit)
    assert f"row {row}, column 'maximum' (parameter " in message and "a normal here is given by its scale" in message


def test_misspelt_exchange_column_is_refused(ready_dir, exported_grids):
    """An unknown column of an exchange table (a misspelt `uncertainty type` dropped every
    distribution of the table)."""

    def edit(rows):
        _, header, cols = block(rows, "aluminium-kg")
        rows[header][cols["uncertainty type"]] = "uncertainty tpye"
        return header + 1

    message, _ = grid_refusal(exported_grids, edit)
    assert "column 'J': unknown column 'uncertainty tpye' (did you mean 'uncertainty type'?)" in message


def test_value_under_no_header_and_misspelt_section_are_refused(ready_dir, exported_grids):
    def stray(rows):
        _, header, _ = block(rows, "aluminium-kg")
        rows[header + 2].append("a note")
        return header + 3

    message, _ = grid_refusal(exported_grids, stray)
    assert "column 'R': a value ('a note') in a column without a header" in message

    def misspelt(rows):
        start, _, _ = block(rows, "aluminium-kg")
        assert rows[start - 1][0] == "Activity"
        rows[start - 1][0] = "Activty"
        return start

    message, _ = grid_refusal(exported_grids, misspelt)
    assert "column 'A': unknown row 'Activty' (did you mean 'Activity'?)" in message


def test_uncertainty_on_a_formula_exchange_is_refused(ready_dir, exported_grids):
    def edit(rows):
        header = next(i for i, r in enumerate(rows) if r[0] == "name" and r[1] == "amount" and "formula" in r and "type" in r)
        cols = {name: k for k, name in enumerate(rows[header]) if name}
        i = next(i for i in range(header, len(rows)) if len(rows[i]) > cols["formula"] and rows[i][cols["formula"]] and rows[i][cols["type"]] in ("biosphere", "technosphere"))
        rows[i][cols["uncertainty type"]], rows[i][cols["scale"]] = 2, 0.1
        return i + 1

    message, row = grid_refusal(exported_grids, edit)
    assert f"row {row}, column 'uncertainty type'" in message and "an exchange with a formula gets its uncertainty from the parameters" in message


def test_inventory_formula_without_computed_value(ready_dir, exported_workbook, tmp_path, capsys):
    """A formula typed by a program and never computed reads as blank with data_only: refused
    through the command, nothing written; the value a spreadsheet saves with it is read."""
    import re
    import zipfile

    from bw_aicompute.excel.inventories import read_inventory_workbook

    wb, ws = background_only(exported_workbook)
    row, cols = find_exchange(ws, "aluminium-kg", "Carbon dioxide, fossil")
    cell = row[cols["amount"]]
    assert cell.value != 6
    cell.value = "=2*3"
    path = tmp_path / "formula.xlsx"
    wb.save(path)
    state = {n: json.dumps(bd.databases[n], sort_keys=True, default=str) for n in bd.databases}
    assert main(["import-inventories", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"aicompute: error: formula.xlsx: sheet 'aicompute-background', row {cell.row}, column 'amount': a formula without a computed value ('=2*3'): open and save the workbook in Excel or LibreOffice, or type the value\n"
    assert {n: json.dumps(bd.databases[n], sort_keys=True, default=str) for n in bd.databases} == state
    with zipfile.ZipFile(path) as zf:  # the computed value, as a spreadsheet saves it
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    name = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    parts[name], n = re.subn(rb"(<c r=\"" + cell.coordinate.encode() + rb"\"[^>]*><f>2\*3</f>)<v\s*/?>(</v>)?", rb"\1<v>6</v>", parts[name])
    assert n == 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for item, data in parts.items():
            zf.writestr(item, data)
    (db,) = read_inventory_workbook(path)
    source = row[cols["source"]].value
    (co2,) = [e for e in db.datasets[("aicompute-background", "aluminium-kg")]["exchanges"] if e.get("source") == source and e["type"] == "biosphere"]
    assert co2["amount"] == 6
