"""Fuzzing, seeded and in-process: mutated copies of the shipped examples, of the real H200
power log, of serving files, request logs, SLURM accounting and rules files, campaign workbooks
and inventory workbooks give exit status 2 with one message, or a finite, non-negative result;
never a traceback, never NaN in the JSON output, no case over 30 s, memory bounded."""

import copy
import json
import math
import random
import resource
import time
from pathlib import Path

import pytest
import yaml

from bw_aicompute.cli import main
from test_strict import digest

EXAMPLES = Path(__file__).parents[1] / "examples"
TRACE = Path(__file__).parent / "data" / "h200_training_nvidia_smi.csv"
CASES = 160
VALUES = [
    0, -1, 1, 0.5, 2, 7, 1e-320, 1e308, 1.79e308, float("inf"), float("nan"), 10**400, 2**64 + 1,
    "", "x", "1.2.3 h", "12 MWh", "3 d", "inf", "nan", "-5 GPU-h", "x" * 300, None, True, [], {}, [[["deep"]]],
    {"kg_co2e": 1e300}, "H100", "FR", "withdrawal",
]


def leaves(doc, path=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from leaves(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from leaves(v, (*path, i))
    yield path


def mutate(doc: dict, rng: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice([1, 1, 2, 3])):
        path = rng.choice([p for p in leaves(doc) if p])
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = rng.random()
        if action < 0.75:
            parent[path[-1]] = rng.choice(VALUES)
        elif action < 0.85 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(["bogus", "gpu_hours", "energy", "telemetry", "grid"])] = rng.choice(VALUES)
    return doc


@pytest.mark.parametrize("chunk", range(4))
def test_mutated_campaigns_give_exit_2_or_finite_results(ready_dir, tmp_path, capsys, chunk):
    rng = random.Random(1000 + chunk)
    examples = [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]
    passed = 0
    for case in range(CASES // 4):
        doc = mutate(rng.choice(examples), rng)
        path = tmp_path / f"case{case}.yaml"
        try:
            path.write_text(yaml.safe_dump(doc, allow_unicode=True))
        except yaml.YAMLError:
            continue
        out = tmp_path / f"case{case}.json"
        rc = main(["assess", str(path), "--indicator", "climate", "--json", str(out)])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        if rc == 2:
            assert captured.err.startswith("aicompute: error: ") and captured.err.count("\n") == 1, captured.err
            assert len(captured.err) < 2000
            assert not out.exists()
            continue
        assert rc == 0, (doc, captured.err)
        text = out.read_text()
        assert "NaN" not in text and "Infinity" not in text
        value = json.loads(text)["totals"]["climate"]["value"]
        assert math.isfinite(value) and value >= 0, doc
        passed += 1
    print(f"chunk {chunk}: {passed} valid of {CASES // 4}")
    assert passed > 0  # the mutations leave some campaigns valid


def test_mutated_power_logs_give_exit_2_or_finite_energy(tmp_path, capsys):
    rng = random.Random(7)
    lines = TRACE.read_text().splitlines()
    tokens = ["", "[N/A]", "1e20 W", "-5 W", "nan", "inf", "abc", "2026/13/45 99:99:99.000", "99999999999999", ",,,,", "\x00", "1e308"]
    for case in range(100):
        mutated = list(lines)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(mutated))
            cells = mutated[i].split(",")
            cells[rng.randrange(len(cells))] = rng.choice(tokens)
            mutated[i] = ",".join(cells)
        path = tmp_path / f"log{case}.csv"
        path.write_text("\n".join(mutated) + "\n")
        rc = main(["telemetry", str(path), "--json", str(tmp_path / f"log{case}.json")])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        if rc == 2:
            assert captured.err.startswith("aicompute: error: ") and captured.err.count("\n") == 1 and len(captured.err) < 2000, captured.err
            assert not (tmp_path / f"log{case}.json").exists()
            continue
        assert rc == 0
        data = json.loads((tmp_path / f"log{case}.json").read_text())
        assert math.isfinite(data["energy_kwh"]) and data["energy_kwh"] >= 0


# ---------------------------------------------------------------------------------------------
# the surfaces added since the first fuzz test (issue 23): at least 100 cases each

SLURM = EXAMPLES / "slurm"
SURFACE_CASES = 100
MAX_CASE_SECONDS = 30
MAX_GROWTH_KB = 1_000_000  # peak resident memory may grow by at most about 1 GB during a surface


class Budget:
    """Times each case and bounds the growth of the process's peak memory over a surface."""

    def __init__(self):
        self.peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.slowest = 0.0

    def case(self, run):
        start = time.perf_counter()
        result = run()
        self.slowest = max(self.slowest, time.perf_counter() - start)
        return result

    def check(self):
        assert self.slowest < MAX_CASE_SECONDS
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.peak < MAX_GROWTH_KB


def refused_or_ok(rc: int, captured) -> bool:
    """True for a clean refusal (exit 2, one line naming the problem), False for success; a
    traceback or any other status fails the test."""
    assert "Traceback" not in captured.err, captured.err
    if rc == 2:
        assert captured.err.startswith("aicompute: error: ") and captured.err.count("\n") == 1 and len(captured.err) < 2000, captured.err
        return True
    assert rc == 0, captured.err
    return False


def finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value >= 0


@pytest.mark.parametrize("chunk", range(2))
def test_mutated_serving_files(ready_dir, tmp_path, capsys, chunk):
    """Serving files (`serves:` + `deployment:`) and a campaign with its deployment, mutated:
    exit 2, or per-unit results that are finite and non-negative."""
    rng, budget, valid = random.Random(2300 + chunk), Budget(), 0
    docs = []
    for name in ("bloom_api_serving.yaml", "moshi_like_serving.yaml"):
        doc = yaml.safe_load((EXAMPLES / name).read_text())
        if "serves" in doc:  # a serving file; the other carries its deployment itself
            doc["serves"] = str(EXAMPLES / doc["serves"])
        docs.append(doc)
    for case in range(SURFACE_CASES // 2):
        doc = mutate(rng.choice(docs), rng)
        path, out = tmp_path / f"s{case}.yaml", tmp_path / f"s{case}.json"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True))
        rc = budget.case(lambda: main(["assess", str(path), "--indicator", "climate", "--json", str(out), "--replace"]))
        if refused_or_ok(rc, capsys.readouterr()):
            assert not out.exists()
            continue
        data = json.loads(out.read_text())
        assert finite(data["totals"]["climate"]["value"]) and all(finite(r["serving_per_unit"]) and finite(r["amortised_per_unit"]) for r in data.get("per_unit", []))
        valid += 1
    budget.check()
    assert valid > 0


def request_log(rng: random.Random, start: float, seconds: float) -> str:
    """A request log inside (and around) a power log's window, with some cells broken."""
    from datetime import datetime, timezone

    broken = ["", "nan", "-5", "1e400", "x", "2026-13-45T99:99:99", "inf", "\x00", "1" * 40]
    rows = ["timestamp,tokens"] if rng.random() < 0.9 else [rng.choice(["time,tokens", "timestamp", "", "timestamp,tokens,extra"])]
    for _ in range(rng.randint(0, 40)):
        t = datetime.fromtimestamp(start + rng.uniform(-60, seconds + 60), tz=timezone.utc).isoformat()
        tokens = str(rng.randint(0, 2000))
        if rng.random() < 0.15:
            t = rng.choice(broken)
        if rng.random() < 0.15:
            tokens = rng.choice(broken)
        rows.append(f"{t},{tokens}")
    return "\n".join(rows) + "\n"


def test_mutated_request_logs(bw_dir, tmp_path):
    """Request logs beside a real power log: a clean refusal naming the field, or units served
    and energy that are finite and non-negative (read, validated: nothing is written)."""
    from bw_aicompute import AicomputeError
    from bw_aicompute.campaign import read_campaign
    from bw_aicompute.telemetry import read_log

    from datetime import datetime, timezone

    first = TRACE.read_text().splitlines()[1].split(",")[0]
    start = datetime.strptime(first, "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
    seconds = read_log(TRACE).duration_s
    doc = yaml.safe_load((EXAMPLES / "bloom.yaml").read_text())
    doc["deployment"] = {"gpu": "H200 SXM 141GB", "telemetry": str(TRACE), "request_log": "requests.csv", "unit": "request"}
    path = tmp_path / "serving.yaml"
    path.write_text(yaml.safe_dump(doc))
    rng, budget, valid = random.Random(2301), Budget(), 0
    for _ in range(SURFACE_CASES):
        (tmp_path / "requests.csv").write_text(request_log(rng, start, seconds))
        try:
            d = budget.case(lambda: read_campaign(path)).deployment
        except AicomputeError as exc:
            assert "deployment.request_log" in str(exc) and "\n" not in str(exc), exc
            continue
        assert all(finite(v) for v in d.served.values()) and finite(d.measured_gpu_kwh) and finite(d.hours)
        valid += 1
    budget.check()
    assert valid > 0


SACCT_TOKENS = ["", "Unknown", "None", "x", "-1", "99999999-00:00:00", "1-25:99:99", "gres/gpu=-8", "gres/gpu=1e30", "gres/gpu:h100=99999999", "gres/gpu=8.5", "gres/gpu=inf",
                "CANCELLED by 0", "FAILED", "2026-02-30T00:00:00", "1970-01-01T00:00:00", "9999-12-31T23:59:59", "gpu_mystery", "a|b", "\x00", "é" * 50, "1005_3"]


def test_mutated_slurm_accounting(tmp_path, capsys):
    """sacct exports with broken cells, rows and headers: exit 2 naming the file and line, or
    campaign files whose GPU-hours are finite and non-negative."""
    lines, rules = (SLURM / "sacct.txt").read_text().splitlines(), SLURM / "rules.yaml"
    rng, budget, valid = random.Random(2302), Budget(), 0
    for case in range(SURFACE_CASES):
        mutated = list(lines)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(mutated))
            action = rng.random()
            if action < 0.7:
                cells = mutated[i].split("|")
                cells[rng.randrange(len(cells))] = rng.choice(SACCT_TOKENS)
                mutated[i] = "|".join(cells)
            elif action < 0.85:
                mutated.insert(i, mutated[rng.randrange(len(mutated))])  # a duplicated row
            else:
                del mutated[i]
        path, out = tmp_path / f"sacct{case}.txt", tmp_path / f"lab{case}.yaml"
        path.write_text("\n".join(mutated) + "\n")
        rc = budget.case(lambda: main(["from-slurm", str(path), "--rules", str(rules), "--out", str(out)]))
        if refused_or_ok(rc, capsys.readouterr()):
            assert not out.exists()
            continue
        phases = yaml.safe_load(out.read_text())["phases"]
        assert phases and all(finite(p["gpu_hours"]) for p in phases)
        valid += 1
    budget.check()
    assert valid > 0


def test_mutated_slurm_rules(tmp_path, capsys):
    """Rules files with wrong types, unknown kinds, GPU models or fields, broken patterns: exit
    2, or campaign files that validate."""
    doc, sacct = yaml.safe_load((SLURM / "rules.yaml").read_text()), SLURM / "sacct.txt"
    extra = [{"match": {"job_name": "["}, "phase": "x", "kind": "debugging"}, {"match": {"user": "/(?P<x/"}, "phase": "y", "kind": "ablation"}, "rule", None]
    rng, budget, valid = random.Random(2303), Budget(), 0
    for case in range(SURFACE_CASES):
        mutated = mutate(doc, rng)
        if rng.random() < 0.2 and isinstance(mutated.get("rules"), list):
            mutated["rules"].insert(0, rng.choice(extra))
        path, out = tmp_path / f"rules{case}.yaml", tmp_path / f"lab{case}.yaml"
        path.write_text(yaml.safe_dump(mutated, allow_unicode=True))
        rc = budget.case(lambda: main(["from-slurm", str(sacct), "--rules", str(path), "--out", str(out)]))
        if refused_or_ok(rc, capsys.readouterr()):
            assert not out.exists()
            continue
        assert all(finite(p["gpu_hours"]) for p in yaml.safe_load(out.read_text())["phases"])
        valid += 1
    budget.check()
    assert valid > 0


def campaign_workbook(path: Path) -> None:
    """The template filled with a small campaign."""
    import openpyxl

    from bw_aicompute.campaign.workbook import write_template

    write_template(path)  # without the drop-down lists: the fuzz loads and saves it 100 times
    wb = openpyxl.load_workbook(path)
    values = {"campaign": {"name": "fuzzed workbook"}, "site": {"country": "FR", "profile": "hyperscaler"}, "hardware": {"gpu": "H100 SXM 80GB", "lifetime_years": 5}}
    for sheet, fields in values.items():
        for row in wb[sheet].iter_rows(min_row=2):
            if row[0].value in fields:
                row[1].value = fields[row[0].value]
    ws = wb["phases"]
    ws.delete_rows(2, ws.max_row)
    header = [c.value for c in ws[1]]
    for phase in ({"name": "pretraining", "kind": "pretraining", "gpu_hours": 1000}, {"name": "eval", "kind": "evaluation", "gpus": 8, "hours": "6 h", "load_factor": 0.6}):
        ws.append([phase.get(h) for h in header])
    wb.save(path)


WORKBOOK_VALUES = [0, -1, 1e308, "", "x", "=1/0", "=SUM(B2:B3)", "=HYPERLINK(\"file:///etc/passwd\")", True, "TRUE", "12 MWh", "1e9", "nan", "é" * 300, 3.5]


def mutate_workbook(source: Path, target: Path, rng: random.Random) -> None:
    """Wrong types, formulas, merged cells, a sheet renamed or removed, rows inserted."""
    import datetime

    import openpyxl

    wb = openpyxl.load_workbook(source)
    for _ in range(rng.randint(1, 3)):
        ws = rng.choice(wb.worksheets)
        action = rng.random()
        cell = ws.cell(row=rng.randint(1, max(ws.max_row, 2) + 1), column=rng.randint(1, max(ws.max_column, 2)))
        if isinstance(cell, openpyxl.cell.cell.MergedCell):  # inside an earlier merge: read-only
            continue
        if action < 0.6:
            cell.value = rng.choice(WORKBOOK_VALUES + [datetime.datetime(2026, 1, 1)])
        elif action < 0.75:
            ws.merge_cells(start_row=cell.row, start_column=cell.column, end_row=cell.row + rng.randint(0, 2), end_column=cell.column + rng.randint(1, 2))
        elif action < 0.85 and len(wb.worksheets) > 1:
            wb.remove(ws)
        elif action < 0.92:
            ws.title = rng.choice(["Phases", "site2", "x"])
        else:
            ws.insert_rows(rng.randint(1, 3))
    wb.save(target)


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """A workbook whose sharedStrings.xml really expands to 120 MB, beyond the limit of what a
    workbook may hold (zeros compress to about a thousandth, so the file is small)."""
    import zipfile

    from bw_aicompute._resources import MAX_WORKBOOK_BYTES

    folder = tmp_path_factory.mktemp("bomb")
    source, path = folder / "source.xlsx", folder / "bomb.xlsx"
    campaign_workbook(source)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            if item.filename != "xl/sharedStrings.xml":
                out.writestr(item, src.read(item))
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            chunk = b"<si><t>" + b"0" * (1 << 20) + b"</t></si>"
            for _ in range(MAX_WORKBOOK_BYTES // (1 << 20) + 20):
                f.write(chunk)
    return path


def test_mutated_campaign_workbooks(ready_dir, tmp_path, capsys, zip_bomb):
    """Campaign workbooks with wrong types, formulas, merged cells, a sheet missing; a file that
    is not a zip, a truncated one and a zip bomb: exit 2 naming sheet, row and column (or the
    file), or a finite, non-negative result."""
    base = tmp_path / "base.xlsx"
    campaign_workbook(base)
    bomb, notzip, truncated = zip_bomb, tmp_path / "notzip.xlsx", tmp_path / "truncated.xlsx"
    notzip.write_bytes(random.Random(1).randbytes(5000))
    truncated.write_bytes(base.read_bytes()[:3000])
    from bw_aicompute import AicomputeError
    from bw_aicompute.campaign import read_campaign

    rng, budget, valid = random.Random(2304), Budget(), 0
    for case in range(SURFACE_CASES):
        path, out = tmp_path / f"w{case}.xlsx", tmp_path / f"w{case}.json"
        mutate_workbook(base, path, rng)
        if case % 5:  # the workbook is read and validated (the solve is fuzzed with the YAML campaigns)
            try:
                c = budget.case(lambda: read_campaign(path))
            except AicomputeError as exc:
                assert "\n" not in str(exc) and str(exc).startswith(str(path)), exc
                continue
            assert all(finite(p.gpu_hours) for p in c.phases)
            valid += 1
            continue
        rc = budget.case(lambda: main(["assess", str(path), "--indicator", "climate", "--json", str(out), "--replace"]))
        if refused_or_ok(rc, capsys.readouterr()):
            continue
        assert finite(json.loads(out.read_text())["totals"]["climate"]["value"])
        valid += 1
    for special, says in ((bomb, "expand to"), (notzip, "not a zip archive"), (truncated, "not a zip archive")):
        rc = budget.case(lambda: main(["assess", str(special), "--indicator", "climate"]))
        err = capsys.readouterr().err
        assert rc == 2 and says in err and err.count("\n") == 1, err
    budget.check()
    assert valid > 0


@pytest.fixture
def background_grid(exported_grids):
    """The exported background sheet alone, as a grid (what a user edits most)."""
    return exported_grids["aicompute-background"]


INVENTORY_VALUES = [0, -1, 1e308, float("nan"), "", None, "x", "=1/0", "kilowatt hours", "biosphere", "technosphere", "lognormal", 10**30, "é" * 200, True]


def test_mutated_inventory_workbooks(ready_dir, background_grid, tmp_path, capsys, zip_bomb):
    """An edited inventory sheet with broken cells: a refusal naming sheet, row and column, or
    databases whose every amount is finite (validated in memory; the cells are put back after
    each case). Files that are not workbooks, and a zip bomb, through the command."""
    from types import SimpleNamespace

    from bw_aicompute import AicomputeError
    from bw_aicompute.excel.inventories import workbook_databases

    rows = background_grid.rows
    rng, budget, valid = random.Random(2305), Budget(), 0
    for _ in range(SURFACE_CASES):
        changed = []
        for _ in range(rng.randint(1, 3)):
            r = rng.randrange(len(rows))
            c = rng.randrange(max(len(rows[r]), 1))
            if c >= len(rows[r]):
                continue
            changed.append((r, c, rows[r][c]))
            rows[r][c] = rng.choice(INVENTORY_VALUES)
        try:
            dbs = budget.case(lambda: workbook_databases(SimpleNamespace(worksheets=[background_grid]), tmp_path / "edited.xlsx"))
        except AicomputeError as exc:
            message = str(exc)
            assert "\n" not in message and len(message) < 2000 and "edited.xlsx" in message, message
        else:
            amounts = [e["amount"] for db in dbs for ds in db.datasets.values() for e in ds["exchanges"]]
            assert amounts and all(math.isfinite(a) for a in amounts)
            valid += 1
        for r, c, value in reversed(changed):
            rows[r][c] = value
    notzip = tmp_path / "notzip.xlsx"
    notzip.write_text("Database,aicompute\n")
    before = digest(ready_dir)
    for special, says in ((zip_bomb, "expand to"), (notzip, "not a zip archive"), (tmp_path, "not found")):
        rc = main(["import-inventories", str(special)])
        err = capsys.readouterr().err
        assert rc == 2 and says in err and err.count("\n") == 1, err
    assert digest(ready_dir) == before  # nothing written
    budget.check()
    assert valid > 0


# ---------------------------------------------------------------------------------------------
# the monthly mix and the hourly intensity series a campaign names (CSV files): at least 100
# seeded mutations each, through `assess`

CSV_TOKENS = ["1e308", "1e5", "9999", "-1", "-0", "nan", "inf", "-inf", "", " ", "x", "0", "1e-300", "2024-13", "2024-02", "9999-12",
              "0001-01-01T00:00:00+05:00", "2024-03-10T22:30:00+01:00", "FR", "FRA", "TWh", "Coal", "\x00", "é" * 50, "1" * 400, "a,b", '"']


def mutate_csv(lines: list[str], rng: random.Random) -> list[str]:
    """Cells replaced (huge, negative, NaN, inf, empty, text, dates), rows duplicated, dropped
    or zeroed."""
    lines = list(lines)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(1, len(lines)) if rng.random() < 0.95 else 0  # the header, rarely
        action = rng.random()
        if action < 0.6:
            cells = lines[i].split(",")
            cells[rng.randrange(len(cells))] = rng.choice(CSV_TOKENS)
            lines[i] = ",".join(cells)
        elif action < 0.75:
            lines.insert(rng.randrange(1, len(lines) + 1), lines[i])
        elif action < 0.9 and len(lines) > 2:
            del lines[i]
        else:
            cells = lines[i].split(",")
            lines[i] = ",".join([cells[0], *("0" for _ in cells[1:])])
    return lines


def assess_mutations(path: Path, series: Path, lines: list[str], seed: int, tmp_path: Path, capsys, field: str, cases: int = SURFACE_CASES) -> int:
    """`cases` mutations of `lines` written to `series`, each assessed: a refusal in one line
    naming the campaign file, the field and the series (its line, for a cell), nothing
    written; or a finite, non-negative climate total. Returns the valid cases."""
    rng, budget, valid = random.Random(seed), Budget(), 0
    for case in range(cases):
        series.write_text("\n".join(mutate_csv(lines, rng)) + "\n", encoding="utf-8")
        out = tmp_path / f"{series.stem}{case}.json"
        rc = budget.case(lambda: main(["assess", str(path), "--indicator", "climate", "--json", str(out), "--replace"]))
        captured = capsys.readouterr()
        if refused_or_ok(rc, captured):
            assert not out.exists()
            assert str(path) in captured.err and field in captured.err, captured.err
            continue
        data = json.loads(out.read_text())
        assert finite(data["totals"]["climate"]["value"]), data["totals"]
        valid += 1
    budget.check()
    return valid


def test_mutated_monthly_mixes(ready_dir, tmp_path, capsys):
    """A wide monthly file and Ember's long format (half of the 100 cases each), mutated, under
    a campaign of a phase over four months."""
    techs = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo")
    wide = ["month," + ",".join(techs)] + [f"2024-{m:02d}," + ",".join(str(round(5 + 3 * k + m, 1)) for k in range(len(techs))) for m in range(1, 5)]
    ember = ["ISO 3 code,Date,Category,Subcategory,Variable,Unit,Value"] + [
        f"FRA,2024-{m:02d}-01,Electricity generation,Fuel,{fuel},TWh,{4 + k + m}" for m in range(1, 4) for k, fuel in enumerate(("Coal", "Gas", "Nuclear", "Wind"))]
    doc = {"campaign": {"name": "fuzzed months"}, "site": {"country": "FR", "monthly_mix": "months.csv"}, "hardware": {"gpu": "H100 SXM 80GB"},
           "phases": [{"name": "run", "kind": "pretraining", "gpus": 16, "hours": 300, "start": "2024-01-15", "end": "2024-04-10"}]}
    valid = 0
    for fmt, lines in (("wide", wide), ("ember", ember)):
        path = tmp_path / f"{fmt}.yaml"
        path.write_text(yaml.safe_dump({**doc, "site": {**doc["site"], "monthly_mix": f"{fmt}.csv"}}))
        valid += assess_mutations(path, tmp_path / f"{fmt}.csv", lines, 2400 + len(fmt), tmp_path, capsys, f"site.monthly_mix': {fmt}.csv: ", SURFACE_CASES // 2)
    assert valid > 0


def test_mutated_hourly_series(ready_dir, tmp_path, capsys):
    """The hourly series of `test_hourly` (two zones) beside its power log, mutated."""
    from test_hourly import write_inputs

    path = write_inputs(tmp_path)
    lines = (tmp_path / "hourly.csv").read_text().splitlines()
    assert assess_mutations(path, tmp_path / "hourly.csv", lines, 2402, tmp_path, capsys, "hourly.csv") > 0
