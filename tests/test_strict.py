"""Outputs that cannot hurt, YAML read strictly, imports that survive a kill and calculation
setups that survive a re-assessment (issue 38). Each case failed before the change it tests."""

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import bw2data as bd
import openpyxl
import pytest
import yaml

from bw_aicompute.cli import main

EXAMPLES = Path(__file__).parents[1] / "examples"
BASE = {
    "campaign": {"name": "strict", "description": "issue 38"},
    "site": {"country": "FR", "profile": "free-cooled-colocation"},
    "hardware": {"gpu": "H100 SXM 80GB", "gpus_per_node": 8},
    "phases": [{"name": "main", "kind": "pretraining", "nodes": 2, "hours": 100}],
}


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(rc: int, capsys, *parts: str) -> str:
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("aicompute: error: ") and err.count("\n") == 1, err
    for part in parts:
        assert part in err, err
    return err


def campaign(tmp_path: Path, name: str = "c.yaml", **changes) -> Path:
    doc = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        doc[key] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


# -- outputs ----------------------------------------------------------------------------------


def test_no_output_inside_the_brightway_directory(ready_dir, tmp_path, capsys):
    path = campaign(tmp_path)
    project_db = next(ready_dir.glob("aicompute.*")) / "lci" / "databases.db"
    before = digest(ready_dir)
    for out in (project_db, ready_dir / "new.json"):
        refused(main(["assess", str(path), "--indicator", "climate", "--json", str(out), "--force"]), capsys, "inside the Brightway data directory")
    link = tmp_path / "link"
    link.symlink_to(ready_dir)
    refused(main(["assess", str(path), "--indicator", "climate", "--excel", str(link / "x.xlsx")]), capsys, "inside the Brightway data directory")
    refused(main(["template", str(ready_dir / "t.xlsx")]), capsys, "inside the Brightway data directory")
    assert digest(ready_dir) == before


def test_from_slurm_never_writes_over_its_inputs(tmp_path, capsys):
    for name in ("sacct.txt", "rules.yaml"):
        shutil.copy(EXAMPLES / "slurm" / name, tmp_path / name)
    before = digest(tmp_path)
    sacct, rules = str(tmp_path / "sacct.txt"), str(tmp_path / "rules.yaml")
    for out in (rules, sacct):
        refused(main(["from-slurm", sacct, "--rules", rules, "--out", out, "--force"]), capsys, "is an input of this command")
    assert digest(tmp_path) == before


def test_assess_never_writes_over_a_file_the_campaign_reads(ready_dir, tmp_path, capsys):
    (tmp_path / "mix.yaml").write_text((EXAMPLES / "scenarios" / "fr_2035_illustrative.yaml").read_text())
    path = campaign(tmp_path, site={"country": "FR", "grid_scenario": "mix.yaml"})
    before = digest(tmp_path)
    refused(main(["assess", str(path), "--indicator", "climate", "--json", str(tmp_path / "mix.yaml"), "--force"]), capsys, "is an input of this command")
    assert digest(tmp_path) == before


INJECTED = ['=HYPERLINK("http://example.com","x")', "=1+1", "@SUM(1)", "+cmd", "-cmd", "\tx"]


def formulas(path: Path) -> list[str]:
    """Cells of a workbook that a spreadsheet would run: formulas, and text starting like one
    without the text mark."""
    wb = openpyxl.load_workbook(path)
    return [f"{ws.title}!{c.coordinate}={c.value!r}" for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f" or (isinstance(c.value, str) and c.value[:1] in "=+-@\t" and c.value[1:2] not in "0123456789" and not c.quotePrefix)]


def test_names_never_become_formulas(ready_dir, tmp_path, capsys):
    phases = [{"name": n, "kind": "pretraining", "nodes": 1, "hours": 10, "description": n} for n in INJECTED[1:]]
    path = campaign(tmp_path, campaign={"name": INJECTED[0], "description": "=2+2"}, phases=phases)
    other = campaign(tmp_path, "d.yaml", campaign={"name": "@other", "description": "-x"}, phases=phases)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["assess", str(path), "--indicator", "climate", "--excel", str(out / "a.xlsx")]) == 0
    assert main(["sweep", str(path), "--vary", "site.country=FR,DE", "--indicator", "climate", "--excel", str(out / "s.xlsx")]) == 0
    assert main(["compare", str(path), str(other), "--indicator", "climate", "--excel", str(out / "c.xlsx")]) == 0
    for book in ("a.xlsx", "s.xlsx", "c.xlsx"):
        assert formulas(out / book) == [], book
    texts = {c.value for ws in openpyxl.load_workbook(out / "a.xlsx").worksheets for row in ws.iter_rows() for c in row}
    assert set(INJECTED) <= texts  # kept as typed, shown as text
    capsys.readouterr()
    assert main(["assess", str(path), "--indicator", "climate", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "'=1+1" in {line.split(",")[0] for line in lines} and not any(line.startswith(("=", "@", "+", "\t")) for line in lines)


# -- YAML -------------------------------------------------------------------------------------


def test_a_key_given_twice_is_refused_with_its_line(ready_dir, tmp_path, capsys):
    text = yaml.safe_dump(BASE, sort_keys=False).replace("  hours: 100\n", "  hours: 100\n  hours: 200\n")
    (tmp_path / "twice.yaml").write_text(text)
    line = text.splitlines().index("  hours: 200") + 1
    refused(main(["assess", str(tmp_path / "twice.yaml"), "--indicator", "climate"]), capsys, f"line {line}", "'hours' given twice")
    (tmp_path / "mix.yaml").write_text("name: x\nyear: 2035\nsource: s\nshares: {nuclear: 0.5, nuclear: 1}\n")
    path = campaign(tmp_path, site={"country": "FR", "grid_scenario": "mix.yaml"})
    refused(main(["assess", str(path), "--indicator", "climate"]), capsys, "site.grid_scenario", "mix.yaml: line 4", "'nuclear' given twice")
    rules = (EXAMPLES / "slurm" / "rules.yaml").read_text()
    (tmp_path / "rules.yaml").write_text(rules + "\nunclassified_kind: debugging\nunclassified_kind: evaluation\n")
    refused(main(["from-slurm", str(EXAMPLES / "slurm" / "sacct.txt"), "--rules", str(tmp_path / "rules.yaml"), "--out", str(tmp_path / "o.yaml")]), capsys, "rules.yaml: line", "given twice")
    assert not (tmp_path / "o.yaml").exists()


#: A "billion laughs": 9 ** 9 values from 9 lines of 9 aliases each.
BOMB = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))


@pytest.mark.parametrize("kind", ["scenario", "rules"])
def test_alias_bombs_and_deep_nesting_are_refused_in_every_yaml(ready_dir, tmp_path, capsys, kind):
    deep = "x: " + "[" * 2000 + "]" * 2000 + "\n"
    for i, text in enumerate((BOMB, deep)):
        target = tmp_path / f"{kind}{i}.yaml"
        target.write_text(text)
        start = time.perf_counter()
        if kind == "scenario":
            rc = main(["assess", str(campaign(tmp_path, site={"country": "FR", "grid_scenario": target.name})), "--indicator", "climate"])
        else:
            rc = main(["from-slurm", str(EXAMPLES / "slurm" / "sacct.txt"), "--rules", str(target), "--out", str(tmp_path / "o.yaml")])
        err = refused(rc, capsys, target.name)
        assert ("aliases" in err or "values" in err) if i == 0 else "nested" in err, err
        assert time.perf_counter() - start < 10


def test_an_impossible_date_names_its_field(ready_dir, tmp_path, capsys):
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(BASE, sort_keys=False).replace("  hours: 100\n", "  hours: 100\n  start: 2024-13-01\n  end: 2025-01\n"))
    refused(main(["assess", str(path), "--indicator", "climate"]), capsys, "'phases[1] (main).start'", "2024-13-01")


def test_a_serving_file_is_named_when_its_training_file_does_not_read(ready_dir, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a campaign")
    (tmp_path / "twice.yaml").write_text("campaign:\n  name: a\n  name: b\n")
    for target in ("notes.txt", "twice.yaml"):
        (tmp_path / "s.yaml").write_text(f"serves: {target}\ndeployment:\n  name: x\n")
        refused(main(["assess", str(tmp_path / "s.yaml"), "--indicator", "climate"]), capsys, "s.yaml: field 'serves'", target)


def test_campaign_wide_bounds_on_dated_months_and_shares_of_shares(tmp_path, capsys):
    """Each phase is bounded on its own; a campaign is bounded in all: 21 phases of 50 years
    (12,600 phase-months, each a dataset), and 20 phases each 1000 % of the one before."""
    from bw_aicompute.campaign import read_campaign
    from bw_aicompute.errors import AicomputeError

    dated = [{"name": f"p{i}", "kind": "pretraining", "gpus": 1, "hours": 1000, "start": "2000-01", "end": "2049-12"} for i in range(21)]
    with pytest.raises(AicomputeError, match=r"'phases\[21\] \(p20\).end'.*12,600 months"):
        read_campaign(campaign(tmp_path, phases=dated))
    chain = [{"name": "p0", "kind": "pretraining", "gpus": 1000, "hours": 1000}]
    chain += [{"name": f"p{i}", "kind": "ablation", "gpu_hours": f"1000% of p{i - 1}"} for i in range(1, 20)]
    with pytest.raises(AicomputeError, match=r"'phases\[\d+\] \(p\d+\).gpu_hours': comes to .* GPU-hours; a phase has at most 100,000,000,000"):
        read_campaign(campaign(tmp_path, phases=chain))


# -- calculation setups -----------------------------------------------------------------------


def test_calculation_setups_survive_a_reassessment(ready_dir, tmp_path, capsys):
    path = campaign(tmp_path)
    assert main(["assess", str(path), "--indicator", "climate"]) == 0
    node = bd.get_node(database="aicompute-campaign-strict", code="campaign")
    gpu_hour = next(a for a in bd.Database("aicompute") if a["code"].startswith("gpu-hour-"))
    method = ("IPCC 2021", "climate change", "global warming potential (GWP100)")
    bd.calculation_setups["by key"] = {"inv": [{node.key: 1}, {gpu_hour.key: 2}], "ia": [method]}
    bd.calculation_setups["by id"] = {"inv": [{node.id: 1}, {gpu_hour.id: 3}], "ia": [method]}
    bd.calculation_setups.flush()
    path.write_text(path.read_text().replace("hours: 100", "hours: 120"))
    assert main(["assess", str(path), "--indicator", "climate"]) == 0
    bd.calculation_setups.load()
    new = bd.get_node(database="aicompute-campaign-strict", code="campaign")
    assert new.id != node.id  # rewritten, with a new id
    assert bd.calculation_setups["by key"]["inv"] == [{node.key: 1}, {gpu_hour.key: 2}]
    assert bd.calculation_setups["by id"]["inv"] == [{new.id: 1}, {gpu_hour.id: 3}]


# -- imports killed ---------------------------------------------------------------------------


def total(path: Path) -> float:
    from bw_aicompute import assess

    return float(assess(path, indicators=["climate"], replace=True).totals["value"].iloc[0])


def start_import(workbook: Path, base: Path) -> subprocess.Popen:
    env = {**os.environ, "BRIGHTWAY2_DIR": str(base)}
    return subprocess.Popen([sys.executable, "-m", "bw_aicompute", "import-inventories", str(workbook)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_an_import_killed_at_any_moment_leaves_the_old_or_the_new_project(ready_dir, exported_workbook, tmp_path):
    """kill -9 before the import's journal (nothing changed: the old result) and at a random
    moment after it (the next command completes the import: the new result)."""
    path = campaign(tmp_path)
    old = total(path)
    workbook = tmp_path / "inv.xlsx"
    wb = openpyxl.load_workbook(exported_workbook)
    ws = wb["aicompute"]
    header = next(r for r in ws.iter_rows() if r[0].value == "name" and r[1].value == "amount")
    cols = {c.value: c.column - 1 for c in header}
    next(r for r in ws.iter_rows() if r[0].value == "utilisation")[cols["amount"]].value = 0.6
    wb.save(workbook)
    journal = next(ready_dir.glob("aicompute.*")) / "bw_aicompute-import" / "journal.json"
    rng = random.Random(38)
    process = start_import(workbook, ready_dir)
    time.sleep(rng.uniform(0.2, 1.5))  # reading the workbook: nothing written yet
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not journal.exists()
    assert total(path) == pytest.approx(old, rel=1e-6)
    process = start_import(workbook, ready_dir)
    deadline = time.time() + 120
    while not journal.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(rng.uniform(0, 6))  # somewhere in the writing of the two databases
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = total(path)  # completes the import first
    assert not journal.parent.exists()
    assert bd.databases["aicompute"]["bw_aicompute"]["state"] == "complete"
    assert main(["import-inventories", str(workbook)]) == 0  # the same import, whole
    assert resumed == pytest.approx(total(path), rel=1e-6) and resumed > old * 1.01


# -- fuzz: grid scenario files ----------------------------------------------------------------

SCENARIO_VALUES = [0, -0.1, 0.5, 1, 1.0001, 2, 1e308, float("inf"), float("nan"), "", "x" * 300, None, True, [], {}, "2035", 2035, 10**400, -2035, "0.6"]


def mutate_text(text: str, rng: random.Random) -> str:
    """A line of the file repeated (a key given twice), removed, or an alias or deep nesting
    added."""
    lines = text.splitlines()
    i = rng.randrange(len(lines))
    action = rng.random()
    if action < 0.4:
        lines.insert(i, lines[i])
    elif action < 0.6:
        del lines[i]
    elif action < 0.8:
        lines.append(f"junk: {'[' * 50}{']' * 50}")
    else:
        lines[i:i] = ["a: &a [1, 2, 3]", "b: [*a, *a, *a]"]
    return "\n".join(lines) + "\n"


def test_mutated_grid_scenarios(ready_dir, tmp_path, capsys):
    """>= 100 seeded mutations of a grid scenario file (values and text): exit 2 with one line
    naming the file, nothing written, or a finite, non-negative result."""
    from test_fuzz import mutate

    source = EXAMPLES / "scenarios" / "fr_2035_illustrative.yaml"
    doc = yaml.safe_load(source.read_text())
    rng, valid = random.Random(3800), 0
    for case in range(100):
        if rng.random() < 0.5:
            mutated = mutate(doc, rng)
            for key in rng.sample(["name", "year", "source", "shares"], 1) if rng.random() < 0.3 else []:
                mutated[key] = rng.choice(SCENARIO_VALUES)
            text = yaml.safe_dump(mutated, allow_unicode=True)
        else:
            text = mutate_text(source.read_text(), rng)
        (tmp_path / "mix.yaml").write_text(text)
        path = campaign(tmp_path, site={"country": "FR", "grid_scenario": "mix.yaml"})
        out = tmp_path / f"r{case}.json"
        start = time.perf_counter()
        rc = main(["assess", str(path), "--indicator", "climate", "--json", str(out), "--replace"])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err and time.perf_counter() - start < 30
        if rc == 2:
            assert captured.err.startswith("aicompute: error: ") and captured.err.count("\n") == 1 and len(captured.err) < 2000, captured.err
            assert not out.exists()
            continue
        assert rc == 0, captured.err
        value = json.loads(out.read_text())["totals"]["climate"]["value"]
        assert isinstance(value, float) and value >= 0 and value < 1e6, text
        valid += 1
    assert 0 < valid < 100
