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


BAD_GPU_COUNTS = ["gres/gpu=8.5", "gres/gpu=1e30", "gres/gpu=inf", "gres/gpu=nan", "gres/gpu=-8", "gres/gpu=+8", "gres/gpu=99999999999999999999",
                  "gres/gpu=1000001", "gres/gpu=", "gres/gpu", "gres/gpu:a100=8.5", "gres/gpu:a100=-8", "gres/gpu:a100=inf", "gres/gpu:a100=1e30"]


@pytest.mark.parametrize("entry", BAD_GPU_COUNTS)
def test_gpu_counts_that_are_not_whole_numbers_are_refused(tmp_path, capsys, entry):
    """A GPU count in AllocTRES that is not a whole number from 0 to MAX_GPUS_PER_JOB was misread
    (`8.5` as 8, `1e30` as 1) or dropped (`inf`, `-8`): it is refused, naming line and column."""
    bad, out = tmp_path / "bad.txt", tmp_path / "c.yaml"
    bad.write_text(SACCT.read_text().replace("gres/gpu=1,mem=64G", f"{entry},mem=64G"))  # job 1007, line 13
    assert main(["from-slurm", str(bad), "--rules", str(RULES), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aicompute: error: {bad}, line 13: field 'AllocTRES': GPU count {entry!r} is not") and err.count("\n") == 1
    assert "whole number from 0 to 1,000,000" in err and not out.exists()


def test_gpu_counts_up_to_the_bound_and_other_gres_are_read(tmp_path):
    path = tmp_path / "ok.txt"
    path.write_text(SACCT.read_text().replace("gres/gpu=1,mem=64G", "gres/gpu=1000000,gres/gpumem=80G,mem=64G"))
    phases = {p["name"]: p["gpu_hours"] for p in from_slurm(path, RULES).campaigns[0][1]["phases"]}
    assert phases["unclassified"] == pytest.approx(1_000_000 * 2.5)


BAD_TIMES = [  # job 1002, line 5: Start 2026-01-07T09:00:00, End 2026-01-07T15:00:00, Elapsed 06:00:00
    ("T15:00:00|06:00:00", "T11:00:00|10:00:00", "Elapsed", "Elapsed '10:00:00' is longer than End - Start (02:00:00, from Start '2026-01-07T09:00:00' to End '2026-01-07T11:00:00')"),
    ("T15:00:00|06:00:00", "T15:00:00|06:04:00", "Elapsed", "Elapsed '06:04:00' is longer than End - Start (06:00:00"),  # over 1 % (3.6 min)
    ("T15:00:00|06:00:00", "T15:00:00|06:30:00", "Elapsed", "Elapsed '06:30:00' is longer"),  # neither rounding nor a clock change
    ("T15:00:00|06:00:00", "T15:00:00|1-06:00:00", "Elapsed", "Elapsed '1-06:00:00' is longer"),
    ("T15:00:00|06:00:00", "T08:00:00|00:00:00", "End", "End '2026-01-07T08:00:00' is before Start '2026-01-07T09:00:00'"),
    ("T15:00:00|06:00:00", "T25:00:00|06:00:00", "End", "End '2026-01-07T25:00:00' is not an ISO 8601 time"),
]


@pytest.mark.parametrize("old, new, field, message", BAD_TIMES, ids=[b[1] for b in BAD_TIMES])
def test_elapsed_contradicting_start_and_end_is_refused(tmp_path, capsys, old, new, field, message):
    """Elapsed was trusted whatever Start and End said: an Elapsed longer than End - Start (beyond
    a minute and 1 %, or a daylight-saving hour) is refused, naming the line and the fields."""
    bad, out = tmp_path / "bad.txt", tmp_path / "c.yaml"
    text = SACCT.read_text()
    assert f"2026-01-07{old}" in text
    bad.write_text(text.replace(f"2026-01-07{old}", f"2026-01-07{new}"))
    assert main(["from-slurm", str(bad), "--rules", str(RULES), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aicompute: error: {bad}, line 5: field {field!r}: {message}") and err.count("\n") == 1
    assert not out.exists()


OK_TIMES = [  # (End|Elapsed of job 1002, its GPU-hours): 64 GPUs
    ("T15:00:00|06:03:00", 64 * (6 + 3 / 60)),  # within 1 % of End - Start
    ("T15:00:00|05:00:00", 64 * 5),  # an hour suspended: SLURM's Elapsed leaves it out
    ("T14:00:00|06:00:00", 64 * 6),  # local times, the clock set back an hour during the job
]


@pytest.mark.parametrize("new, gpu_hours", OK_TIMES)
def test_elapsed_shorter_rounded_or_across_a_clock_change_is_kept(tmp_path, new, gpu_hours):
    path = tmp_path / "ok.txt"
    path.write_text(SACCT.read_text().replace("2026-01-07T15:00:00|06:00:00", f"2026-01-07{new}"))
    phases = {p["name"]: p["gpu_hours"] for p in from_slurm(path, RULES).campaigns[0][1]["phases"]}
    assert phases["text LM pretraining (failed or restarted)"] == pytest.approx(gpu_hours + 64 * 2)


def test_an_hour_too_long_is_refused_when_the_times_have_an_offset(tmp_path, capsys):
    """Job 1006 (line 12) has times with +01:00: no clock change explains an extra hour."""
    bad, out = tmp_path / "bad.txt", tmp_path / "c.yaml"
    bad.write_text(SACCT.read_text().replace("2026-02-02T16:00:00+01:00|04:00:00", "2026-02-02T15:00:00+01:00|04:00:00"))
    assert main(["from-slurm", str(bad), "--rules", str(RULES), "--out", str(out)]) == 2
    assert f"{bad}, line 12: field 'Elapsed': Elapsed '04:00:00' is longer than End - Start (03:00:00" in capsys.readouterr().err
    assert not out.exists()


def test_each_project_and_the_centre_total(ready_dir, tmp_path, capsys):
    """`from-slurm --by account --assess --excel --plot`: one footprint per project on every
    indicator asked, and the centre's total (the workbook's last row) equals the assessment of
    the whole accounting as one campaign; `--by partition` and `--by qos` group the same jobs."""
    import pandas as pd

    from bw_aicompute.assessment import assess

    names = ["climate", "water", "adp_minerals", "water_scarcity"]
    flags = [x for n in names for x in ("--indicator", n)]
    book, plot = tmp_path / "projects.xlsx", tmp_path / "projects.png"
    args = ["from-slurm", str(SACCT), "--rules", str(RULES), "--by", "account", "--out", str(tmp_path / "by"), "--assess", *flags]
    assert main([*args, "--excel", str(book), "--plot", str(plot)]) == 0
    assert "total of the 3 campaigns" in capsys.readouterr().out
    table = pd.read_excel(book, sheet_name="Sweep")
    assert list(table.iloc[:, 0])[-1] == "total of the 3 campaigns" and plot.read_bytes()[:4] == b"\x89PNG"
    whole = tmp_path / "whole.yaml"
    assert main(["from-slurm", str(SACCT), "--rules", str(RULES), "--out", str(whole)]) == 0
    expected = assess(whole, indicators=names).totals.set_index("indicator")["value"]
    for name in names:
        column = next(c for c in table.columns if c.startswith(f"{name} ("))
        assert table[column].iloc[:-1].sum() == pytest.approx(expected[name], rel=1e-6)
        assert table[column].iloc[-1] == pytest.approx(expected[name], rel=1e-6)
    by_partition = from_slurm(SACCT, RULES, by="partition").campaigns
    assert sorted(label for label, _ in by_partition) == ["gpu_a100", "gpu_h100"]
    capsys.readouterr()
    assert main(["from-slurm", str(SACCT), "--rules", str(RULES), "--by", "qos", "--out", str(tmp_path / "qos")]) == 2
    assert "GPU jobs have no QOS; export it with: sacct" in capsys.readouterr().err
    rows = SACCT.read_text().splitlines()
    with_qos = tmp_path / "qos.txt"
    with_qos.write_text("\n".join([rows[0] + "|QOS"] + [r + ("|high" if r.startswith("1001") else "|normal") for r in rows[1:]]) + "\n")
    assert sorted(label for label, _ in from_slurm(with_qos, RULES, by="qos").campaigns) == ["high", "normal"]
    assert main(["from-slurm", str(SACCT), "--rules", str(RULES), "--out", str(whole), "--force", "--plot", str(plot)]) == 2


def test_many_accounts_add_up_each_and_are_reported_in_one_table(tmp_path, capsys):
    """40 accounts: each campaign's GPU-hours equal a line-by-line sum of its account's lines;
    the report lists the 20 largest campaigns and sums the others (it printed one table of
    phases per campaign: 26,000 lines for a centre's 2,000 accounts), and the files written are
    counted, not listed."""
    text = lines(3000, 5)
    fields = [r.split("|") for r in text[1:]]
    text = [text[0]] + ["|".join([*f[:3], f"acct{k % 40:02d}", *f[4:]]) if f[3] else "|".join(f) for k, f in enumerate(fields)]
    path = tmp_path / "sacct.txt"
    path.write_text("\n".join(text) + "\n")
    a = from_slurm(path, RULES_GEN(tmp_path), by="account")
    assert len(a.campaigns) == 40
    for label, doc in a.campaigns:
        own = [text[0]] + [r for r in text[1:] if r.split("|")[3] == label]
        assert sum(p["gpu_hours"] for p in doc["phases"]) == pytest.approx(expected_gpu_hours(own), rel=1e-9)
    largest = a.largest()
    totals = sorted((sum(p["gpu_hours"] for p in doc["phases"]) for _, doc in a.campaigns), reverse=True)
    assert list(largest["gpu_hours"].iloc[:20]) == pytest.approx(totals[:20]) and largest["gpu_hours"].iloc[-1] == pytest.approx(sum(totals[20:]))
    assert largest["campaign"].iloc[-1] == "the other 20" and largest["phases"].sum() == sum(len(doc["phases"]) for _, doc in a.campaigns)
    report = a.report()
    assert "40 campaigns, the 20 with the most GPU-hours" in report and "Campaign '" not in report
    assert main(["from-slurm", str(path), "--rules", str(RULES_GEN(tmp_path)), "--by", "account", "--out", str(tmp_path / "by")]) == 0
    assert f"wrote 40 campaign files in {tmp_path / 'by'}: acct00.yaml ... acct39.yaml" in capsys.readouterr().out


def test_a_glob_matches_the_whole_value_and_a_regex_searches(tmp_path):
    """`pretrain-*` is a glob on the whole job name: `mypretrain-x` is not pretraining (it was,
    when globs were searched anywhere in the value); `/^abl-/` is searched."""
    text = SACCT.read_text().replace("1001|pretrain-lm-7b|", "1001|mypretrain-lm-7b|", 1)
    path = tmp_path / "sacct.txt"
    path.write_text(text)
    before = {p["name"]: p["gpu_hours"] for p in from_slurm(SACCT, RULES).campaigns[0][1]["phases"]}
    after = {p["name"]: p["gpu_hours"] for p in from_slurm(path, RULES).campaigns[0][1]["phases"]}
    assert after["text LM pretraining"] < before["text LM pretraining"]
    unclassified = [sum(v for k, v in d.items() if k.startswith("unclassified")) for d in (before, after)]
    assert unclassified[1] == pytest.approx(unclassified[0] + 64 * 48)  # 1001: 64 GPUs x 48 h
    assert sum(after.values()) == pytest.approx(sum(before.values()), rel=1e-12)


def test_elapsed_read_with_numpy_as_with_the_regex():
    """The columnar reading of `[D-]HH:MM:SS` gives what the regular expression gives, on
    generated texts of every form: days, fractions, MM:SS, signs, spaces, letters, non-ASCII."""
    import math

    import pandas as pd
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from bw_aicompute.slurm import _elapsed_seconds, _seconds

    part = st.one_of(st.integers(0, 99).map(lambda n: f"{n:02d}"), st.integers(0, 9999999).map(str), st.sampled_from(["", "-", "x", "é", " ", "1.5", ":"]))
    texts = st.lists(st.tuples(part, st.sampled_from(["-", ":", ""]), part, st.sampled_from([":", ""]), part, st.sampled_from([":", ""]), part).map("".join), min_size=1, max_size=40)

    @settings(max_examples=200, deadline=None)
    @given(texts)
    def check(values):
        got = _seconds(pd.Series(values, dtype=object)).tolist()
        want = [_elapsed_seconds(v) for v in values]
        assert all((math.isnan(g) and math.isnan(w)) or g == w for g, w in zip(got, want)), list(zip(values, got, want))

    check()
    assert _seconds(pd.Series(["1-02:03:04", "02:03:04", "12:34"], dtype=object)).tolist() == [93784.0, 7384.0, 754.0]
