"""Campaigns from SLURM accounting: the example file against phases computed by hand, generated
files in the real format against an independent line-by-line sum, bad input, and the command."""

import sys
from pathlib import Path

import pytest
import yaml

from bw_aicompute import AicomputeError
from bw_aicompute.cli import main
from bw_aicompute.slurm import from_slurm

sys.path.insert(0, str(Path(__file__).parent))
from slurm_gen import expected_gpu_hours, lines  # noqa: E402

ROOT = Path(__file__).parents[1]
SACCT, RULES = ROOT / "examples" / "slurm" / "sacct.txt", ROOT / "examples" / "slurm" / "rules.yaml"


def test_example_phases_by_hand():
    """examples/slurm/sacct.txt: 1001 64 GPUs x 48 h; 1002 FAILED 64 x 6 h; 1003 CANCELLED after
    5 min (under 10: stays in its class) 64 x 5/60; 1004 CANCELLED after 2 h 64 x 2; array tasks
    1005_1, _2 8 x 10 h and 8 x 5 h, 1005_3 TIMEOUT 8 x 24 h; 1006 (+01:00) 4 x 4 h; 1007
    unmatched 1 x 2.5 h; steps, the running 1008, the pending array and the CPU job 1009 out."""
    a = from_slurm(SACCT, RULES)
    phases = {p["name"]: (p["kind"], p["gpu"], p["gpu_hours"]) for p in a.campaigns[0][1]["phases"]}
    assert phases == {
        "text LM pretraining": ("pretraining", "H100 SXM 80GB", pytest.approx(64 * 48 + 64 * 5 / 60)),
        "text LM pretraining (failed or restarted)": ("failed or restarted run", "H100 SXM 80GB", pytest.approx(64 * 6 + 64 * 2)),
        "ablations": ("ablation", "H100 SXM 80GB", pytest.approx(80 + 40)),
        "ablations (failed or restarted)": ("failed or restarted run", "H100 SXM 80GB", pytest.approx(192)),
        "evaluation": ("evaluation", "A100 SXM4 80GB", pytest.approx(16)),
        "unclassified": ("debugging", "A100 SXM4 80GB", pytest.approx(2.5)),
    }
    assert a.counts["steps"] == 2 and a.counts["running"] == 1 and a.counts["not started"] == 1 and a.counts["without GPUs"] == 1
    assert a.counts["unclassified"] == 1
    by_month = from_slurm(SACCT, RULES, by="month").campaigns
    assert [label for label, _ in by_month] == ["2026-01", "2026-02"]
    assert from_slurm(SACCT, RULES, start="2026-02-01").counts["gpu_hours"] == pytest.approx(16 + 2.5)


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_accounting_adds_up(tmp_path, seed):
    text = lines(3000, seed)
    path = tmp_path / "sacct.txt"
    path.write_text("\n".join(text) + "\n")
    a = from_slurm(path, RULES_GEN(tmp_path))
    phases_total = sum(p["gpu_hours"] for _, doc in a.campaigns for p in doc["phases"])
    assert a.counts["gpu_hours"] == pytest.approx(expected_gpu_hours(text), rel=1e-9)
    assert phases_total == pytest.approx(a.counts["gpu_hours"], rel=1e-9)  # phases rounded to 1e-6 GPU-h
    assert a.counts["unclassified"] > 0 and any(p["name"].startswith("unclassified") for p in a.campaigns[0][1]["phases"])


def RULES_GEN(tmp_path):  # noqa: N802
    doc = yaml.safe_load(RULES.read_text())
    doc["rules"].append({"match": {"job_name": "sweep-*"}, "phase": "hyperparameter search", "kind": "hyperparameter search"})
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("JobID,JobName\n1,x\n")
    with pytest.raises(AicomputeError, match="not `sacct --parsable2` output"):
        from_slurm(bad, RULES)
    bad.write_text(SACCT.read_text().replace("|AllocTRES|", "|Tres|"))
    with pytest.raises(AicomputeError, match="column 'AllocTRES' is missing"):
        from_slurm(bad, RULES)
    bad.write_text(SACCT.read_text().replace("gpu_a100|COMPLETED|2026-02-03", "gpu_l40|COMPLETED|2026-02-03"))
    with pytest.raises(AicomputeError, match=r"bad.txt, line 13: field 'Partition'.*'gpu_l40' has no GPU model"):
        from_slurm(bad, RULES)
    bad.write_text(SACCT.read_text().replace("2026-02-03T09:00:00", "03/02/2026 09:00"))
    with pytest.raises(AicomputeError, match=r"bad.txt, line 13: field 'Start': Start '03/02/2026 09:00' is not an ISO 8601 time"):
        from_slurm(bad, RULES)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.read_text().replace('"/^abl-/"', '"/^abl-(/"'))
    out = tmp_path / "c.yaml"
    assert main(["from-slurm", str(SACCT), "--rules", str(rules), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rules[2].match.job_name" in err and "does not compile" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_command_writes_a_campaign_and_assesses_it(ready_dir, tmp_path, capsys):
    out = tmp_path / "lab.yaml"
    assert main(["from-slurm", str(SACCT), "--rules", str(RULES), "--out", str(out), "--assess", "--indicator", "climate"]) == 0
    text = capsys.readouterr().out
    assert "GPU-hours by month" in text and "Totals" in text and f"wrote {out}" in text
    doc = yaml.safe_load(out.read_text())
    assert doc["site"] == {"profile": "free-cooled-colocation", "country": "FR"} and len(doc["phases"]) == 6
    folder = tmp_path / "by"
    assert main(["from-slurm", str(SACCT), "--rules", str(RULES), "--by", "account", "--out", str(folder), "--assess", "--indicator", "climate"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["proj-eval.yaml", "proj-misc.yaml", "proj-speech.yaml"]
    assert "3 variants" in capsys.readouterr().out


def test_duplicated_allocations_are_dropped_and_conflicts_refused(tmp_path, capsys):
    """Two overlapping sacct exports joined: the same allocation twice counts once (and the
    report says how many rows were dropped); the same JobID with other fields is refused, with
    both line numbers."""
    text = SACCT.read_text().splitlines()
    row = next(i for i, line in enumerate(text) if line.startswith("1005_3|"))
    path = tmp_path / "joined.txt"
    path.write_text("\n".join(text + [text[row]]) + "\n")
    once, twice = from_slurm(SACCT, RULES), from_slurm(path, RULES)
    assert twice.counts["gpu_hours"] == pytest.approx(once.counts["gpu_hours"]) and twice.counts["duplicates"] == 1
    assert "1 duplicated rows dropped" in twice.report() and once.counts["duplicates"] == 0
    conflicting = text[row].replace("TIMEOUT", "COMPLETED")
    path.write_text("\n".join(text + [conflicting]) + "\n")
    out = tmp_path / "c.yaml"
    assert main(["from-slurm", str(path), "--rules", str(RULES), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"lines {row + 1} and {len(text) + 1}" in err and "JobID '1005_3'" in err and "field 'JobID'" in err
    assert not out.exists()


def test_phase_descriptions_count_jobs_in_words():
    phases = from_slurm(SACCT, RULES).campaigns[0][1]["phases"]
    described = {p["name"]: p["description"] for p in phases}
    assert described["unclassified"].startswith("1 job (") and described["ablations"].startswith("2 jobs (")
