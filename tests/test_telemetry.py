"""GPU power logs: the real H200 trace, synthetic nvidia-smi / plain / CodeCarbon logs, gaps,
windows, bad files, and telemetry-driven campaign phases."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bw_aicompute import AicomputeError
from bw_aicompute.cli import main
from bw_aicompute.telemetry import nvml_available, read_log

DATA = Path(__file__).parent / "data"
TRACE = DATA / "h200_training_nvidia_smi.csv"


def trace_samples():
    df = pd.read_csv(TRACE, skipinitialspace=True)
    df.columns = [c.strip() for c in df.columns]
    t = pd.to_datetime(df["timestamp"], format="%Y/%m/%d %H:%M:%S.%f")
    p = df["power.draw [W]"].str.replace(" W", "").astype(float)
    return t, p


def test_real_trace_segments_are_where_they_are():
    s = read_log(TRACE)
    t, p = trace_samples()
    t0 = t.iloc[0]
    assert s.kind == "nvidia-smi" and len(s.gpus) == 1
    assert len(s.segments) == 2
    first, second = s.segments
    # ~15 s idle (and start-up), ~126 s full load, 15 s idle, ~47 s small-batch, 10 s idle
    assert 15 <= (first["start"] - t0).total_seconds() <= 30
    assert 110 <= first["duration_s"] <= 130
    assert 150 <= (second["start"] - t0).total_seconds() <= 165
    assert 40 <= second["duration_s"] <= 50
    assert first["mean_power_w"] > 600 and 300 < second["mean_power_w"] < 450
    assert (s.gpus[0].end - second["end"]).total_seconds() >= 5


def test_real_trace_energy_is_consistent_with_samples():
    s = read_log(TRACE)
    t, p = trace_samples()
    secs = (t - t.iloc[0]).dt.total_seconds().to_numpy()
    expected_kwh = np.trapezoid(p.to_numpy(), secs) / 3.6e6
    assert s.energy_kwh == pytest.approx(expected_kwh, rel=1e-12)
    assert s.duration_s == pytest.approx(secs[-1])
    assert s.gpus[0].mean_power_w == pytest.approx(expected_kwh * 3.6e6 / secs[-1], rel=1e-9)
    assert s.gpus[0].peak_power_w == pytest.approx(p.max())
    assert sum(seg["energy_kwh"] for seg in s.segments) < s.energy_kwh
    assert not s.gpus[0].gaps  # sampled every 0.1-0.2 s


def test_window_selects_part_of_the_log():
    t, p = trace_samples()
    start, end = "2026-11-26T03:52:40", "2026-11-26T03:54:00"
    s = read_log(TRACE, start=start, end=end)
    m = (t >= pd.Timestamp(start)) & (t <= pd.Timestamp(end))
    secs = (t[m] - t[m].iloc[0]).dt.total_seconds().to_numpy()
    assert s.energy_kwh == pytest.approx(np.trapezoid(p[m].to_numpy(), secs) / 3.6e6, rel=1e-12)
    assert s.gpus[0].samples == int(m.sum())


def write_smi(path, rows):
    lines = ["timestamp, index, name, pci.bus_id, power.draw [W], power.limit [W]"]
    for ts, gpu, power in rows:
        lines.append(f"{ts}, {gpu}, NVIDIA H100 80GB HBM3, 00000000:0{gpu}:00.0, {power}, 700.00 W")
    path.write_text("\n".join(lines) + "\n")


def test_multi_gpu_log_with_na_irregular_sampling_and_a_gap(tmp_path):
    base = pd.Timestamp("2026-01-01 10:00:00")
    rows = []
    times = [0.0, 1.0, 2.5, 3.0, 4.0, 24.0, 25.0, 26.0]  # irregular, and a 20 s hole
    for s_ in times:
        ts = (base + pd.Timedelta(seconds=s_)).strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
        rows.append((ts, 0, "600.00 W"))
        rows.append((ts, 1, "[N/A]" if s_ == 2.5 else "100.00 W"))
    log = tmp_path / "smi.csv"
    write_smi(log, rows)
    s = read_log(log, gap_seconds=5)
    by = {g.gpu: g for g in s.gpus}
    assert set(by) == {"0", "1"}
    # GPU 0: 600 W over 4 s + 2 s (the 20 s gap is not bridged)
    assert by["0"].energy_kwh == pytest.approx(600 * 6 / 3.6e6, rel=1e-12)
    assert by["0"].covered_s == pytest.approx(6.0) and by["0"].duration_s == pytest.approx(26.0)
    assert [g["seconds"] for g in by["0"].gaps] == [pytest.approx(20.0)]
    # GPU 1: the N/A sample is dropped, not read as zero
    assert by["1"].energy_kwh == pytest.approx(100 * 6 / 3.6e6, rel=1e-12)
    assert by["1"].samples == len(times) - 1
    # with a longer gap threshold the hole is integrated
    assert read_log(log, gap_seconds=30).gpus[0].energy_kwh == pytest.approx(600 * 26 / 3.6e6, rel=1e-12)
    assert s.gpu_hours == pytest.approx(2 * 26 / 3600)


def test_plain_csv_iso_and_epoch(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("timestamp,power_w,gpu\n2026-01-01T00:00:00Z,300,a\n2026-01-01T00:00:02Z,500,a\n2026-01-01T00:00:00Z,100,b\n2026-01-01T00:00:02Z,100,b\n")
    s = read_log(plain)
    assert s.kind == "plain"
    assert {g.gpu: round(g.energy_kwh * 3.6e6, 6) for g in s.gpus} == {"a": 800.0, "b": 200.0}
    epoch = tmp_path / "epoch.csv"
    epoch.write_text("timestamp,power_w\n1700000000,200\n1700000001.5,200\n")
    assert read_log(epoch).energy_kwh == pytest.approx(300 / 3.6e6)


def test_codecarbon_emissions_csv(tmp_path):
    header = "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,ram_total_size,tracking_mode"
    row = "{ts},p,{run},e,{dur},0.1,0.0,100,600,10,{cpu},{gpu},{ram},{tot},0,France,FRA,,,,Linux,3.11,3.3.2,64,cpu,{n},4 x NVIDIA H100,2.3,48.8,512,machine"
    lines = [
        header,
        row.format(ts="2026-01-01T10:00:00", run="r1", dur=1800, cpu=0.05, gpu=0.5, ram=0.01, tot=0.56, n=4),
        row.format(ts="2026-01-01T10:30:00", run="r1", dur=3600, cpu=0.1, gpu=1.2, ram=0.02, tot=1.32, n=4),  # cumulative update of r1
        row.format(ts="2026-01-01T12:00:00", run="r2", dur=600, cpu=0.01, gpu=0.3, ram=0.0, tot=0.31, n=1),
    ]
    f = tmp_path / "emissions.csv"
    f.write_text("\n".join(lines) + "\n")
    s = read_log(f)
    assert s.kind == "codecarbon"
    assert [r["run_id"] for r in s.runs] == ["r1", "r2"]
    assert s.energy_kwh == pytest.approx(1.2 + 0.3)
    assert s.runs[0]["cpu_energy_kwh"] == pytest.approx(0.1)
    assert s.gpu_hours == pytest.approx(4 * 1 + 1 * 600 / 3600)  # GPUs x duration of each run
    assert "nan" not in s.report() and "peak not in the log" in s.report()  # CodeCarbon has no power samples


BAD = [
    ("missing columns", "time,watts\n1,2\n", "unknown log format", None),
    ("empty", "", "the file is empty", None),
    ("header only", "timestamp,power_w\n", "no samples", None),
    ("backwards", "timestamp,power_w\n2026-01-01T00:00:02,1\n2026-01-01T00:00:03,1\n2026-01-01T00:00:01,1\n", "timestamp goes backwards", 4),
    ("bad value", "timestamp,power_w\n2026-01-01T00:00:02,1\n2026-01-01T00:00:03,abc\n", "value 'abc' is not a number", 3),
    ("bad time", "timestamp,power_w\n2026-01-01T00:00:02,1\nyesterday,1\n", "timestamp 'yesterday' cannot be read", 3),
    ("negative", "timestamp,power_w\n2026-01-01T00:00:02,1\n2026-01-01T00:00:03,-5\n", "negative value", 3),
]


@pytest.mark.parametrize("label, content, message, line", BAD, ids=[b[0] for b in BAD])
def test_bad_files_one_message_with_file_and_line(tmp_path, capsys, label, content, message, line):
    f = tmp_path / "log.csv"
    f.write_text(content)
    assert main(["telemetry", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"aicompute: error: {f}" + (f", line {line}:" if line else ":"))
    assert message in err


def test_bad_window_and_missing_file(tmp_path, capsys):
    assert main(["telemetry", str(TRACE), "--start", "noon"]) == 2
    assert "--start 'noon' is not an ISO 8601 time" in capsys.readouterr().err
    assert main(["telemetry", str(TRACE), "--start", "2030-01-01T00:00:00"]) == 2
    assert "no valid sample in the selected window" in capsys.readouterr().err
    assert main(["telemetry", str(tmp_path / "none.csv")]) == 2
    assert "telemetry file not found" in capsys.readouterr().err


def test_cli_json(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert main(["telemetry", str(TRACE), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "active segments: 2" in text and "energy" in text
    data = json.loads(out.read_text())
    assert data["energy_kwh"] == pytest.approx(read_log(TRACE).energy_kwh)
    assert data["duration_s"] == pytest.approx(214.687)
    assert len(data["gpus"]) == 1 and len(data["segments"]) == 2
    assert {"energy_kwh", "mean_power_w", "peak_power_w", "gaps", "duration_s"} <= set(data["gpus"][0])


def test_campaign_phase_from_telemetry(ready_dir, tmp_path):
    from bw_aicompute.assessment import assess

    log = tmp_path / "run.csv"
    log.write_bytes(TRACE.read_bytes())
    doc = {
        "campaign": {"name": "traced"},
        "site": {"country": "FR"},
        "hardware": {"gpu": "H200 SXM 141GB"},
        "phases": [
            {"name": "measured run", "kind": "fine-tuning", "telemetry": {"file": "run.csv", "start": "2026-11-26T03:52:30"}},
            {"name": "estimated run", "kind": "evaluation", "gpu_hours": 1},
        ],
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    a = assess(path, indicators=["climate"])
    s = read_log(log, start="2026-11-26T03:52:30")
    phases = a.phases.set_index("phase")
    assert phases.loc["measured run", "gpu_hours"] == pytest.approx(s.duration_s / 3600)
    assert phases.loc["measured run", "it_energy_kwh"] == pytest.approx(s.energy_kwh * 1.43, rel=1e-9)  # + the node's share 0.43
    assert bool(phases.loc["measured run", "energy_measured"])
    # a broken log is reported through the campaign file's field
    doc["phases"][0]["telemetry"]["file"] = "missing.csv"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(AicomputeError, match=r"field 'phases\[1\] \(measured run\)\.telemetry\.file': .*telemetry file not found"):
        assess(path)


def test_record_without_gpu_says_so(tmp_path, capsys):
    ok, _ = nvml_available()
    if ok:
        pytest.skip("a GPU is present: see test_record_on_gpu")
    assert main(["record", "--out", str(tmp_path / "x.csv"), "--", "true"]) == 2
    assert "cannot record" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.skipif(not nvml_available()[0], reason="needs an NVIDIA GPU and nvidia-ml-py")
def test_record_on_gpu(tmp_path, capsys):
    out = tmp_path / "rec.csv"
    rc = main(["record", "--out", str(out), "--interval", "0.05", "--", "python", "-c", "import time; time.sleep(2)"])
    assert rc == 0
    s = read_log(out)
    assert s.energy_kwh > 0 and s.duration_s >= 1.9
    assert s.energy_counter_kwh is None or s.energy_counter_kwh == pytest.approx(s.energy_kwh, rel=0.3)


def test_readme_telemetry_output_is_reproduced(capsys):
    """The telemetry output printed in the documentation is reproduced line by line."""
    import re

    root = Path(__file__).parents[1]
    block = re.search(r"```\n\$ aicompute telemetry tests/data/h200_training_nvidia_smi.csv([^\n]*)\n(.*?)```", (root / "docs" / "telemetry.md").read_text(), re.S)
    assert main(["telemetry", str(root / "tests" / "data" / "h200_training_nvidia_smi.csv"), *block.group(1).split()]) == 0
    printed = capsys.readouterr().out.rstrip().splitlines()
    expected = block.group(2).rstrip().splitlines()
    assert [line.replace(str(root) + "/", "") for line in printed[: len(expected)]] == expected


@pytest.mark.parametrize("watts", ["nan", "-5", "inf", "-inf", "0", "10001"])
def test_active_watts_must_be_a_power_above_zero(tmp_path, capsys, watts):
    """--active-watts nan made no sample active, -5 or 0 every one (a powered GPU never draws
    0 W), and both were accepted: refused, naming the option, before anything is written."""
    out = tmp_path / "t.json"
    assert main(["telemetry", str(TRACE), f"--active-watts={watts}", "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aicompute: error: {TRACE}: --active-watts {float(watts):g}: must be a power in watts above 0 and at most 10,000")
    assert err.count("\n") == 1 and not out.exists()
    assert main(["telemetry", str(TRACE), "--active-watts", "250", "--json", str(out)]) == 0 and out.exists()


# ---------------------------------------------------------------------------------------------
# other vendors' tools: small samples in the tools' documented layouts (tests/data/powerlogs/README.md)

POWERLOGS = DATA / "powerlogs"


def epoch_s(text):
    return float(text)


def iso_s(text):
    import datetime

    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    return (datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) - base).total_seconds()


SAMPLE_LOGS = [
    # file, kind, time column, its parser, GPU column, power column
    ("amd_smi_monitor.csv", "amd-smi", "timestamp", epoch_s, "gpu", "power_usage"),
    ("amd_smi_metric_power.csv", "amd-smi", "timestamp", epoch_s, "gpu", "socket_power"),
    ("rocm_smi_showpower.csv", "rocm-smi", "timestamp", iso_s, "device", "Current Socket Graphics Package Power (W)"),
    ("dcgm_exporter_power.csv", "dcgm-exporter", "timestamp", epoch_s, "gpu", "DCGM_FI_DEV_POWER_USAGE"),
]


def trapezoid_by_hand(path, time_col, parse, gpu_col, power_col):
    """kWh per GPU: the trapezoid over each GPU's samples, N/A readings left out."""
    import csv

    samples = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row[power_col] != "N/A":
                samples.setdefault(row[gpu_col], []).append((parse(row[time_col]), float(row[power_col])))
    return {g: sum((p0 + p1) / 2 * (t1 - t0) for (t0, p0), (t1, p1) in zip(s, s[1:])) / 3.6e6 for g, s in samples.items()}


@pytest.mark.parametrize("name, kind, time_col, parse, gpu_col, power_col", SAMPLE_LOGS, ids=[s[0] for s in SAMPLE_LOGS])
def test_vendor_sample_logs_read_to_the_trapezoid(name, kind, time_col, parse, gpu_col, power_col):
    path = POWERLOGS / name
    s = read_log(path)
    expected = trapezoid_by_hand(path, time_col, parse, gpu_col, power_col)
    assert s.kind == kind
    assert {g.gpu: g.energy_kwh for g in s.gpus} == pytest.approx(expected, rel=1e-12)
    assert len(s.gpus) == 2 and s.energy_kwh > 0
    for g in s.gpus:
        assert g.mean_power_w == pytest.approx(g.energy_kwh * 3.6e6 / g.covered_s, rel=1e-12)
        assert not g.gaps
    assert s.segments, "the samples hold a load phase"


def test_amd_smi_na_reading_is_dropped_not_zero():
    s = read_log(POWERLOGS / "amd_smi_monitor.csv")
    by = {g.gpu: g for g in s.gpus}
    assert by["0"].samples == 12 and by["1"].samples == 11  # GPU 1's N/A reading


def test_dcgm_energy_counter_is_read_in_millijoules():
    import csv

    with open(POWERLOGS / "dcgm_exporter_power.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    counter_j = 0.0
    for g in ("0", "1"):
        mine = [float(r["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"]) for r in rows if r["gpu"] == g]
        counter_j += (mine[-1] - mine[0]) / 1000  # mJ
    s = read_log(POWERLOGS / "dcgm_exporter_power.csv")
    assert s.energy_counter_kwh == pytest.approx(counter_j / 3.6e6, rel=1e-12)
    assert s.energy_counter_kwh == pytest.approx(s.energy_kwh, rel=1e-6)  # the sample's counter follows its power


def test_zeus_energy_log_sums_the_outermost_windows():
    s = read_log(POWERLOGS / "zeus_energy_log.csv")
    assert s.kind == "zeus"
    by = {g.gpu: g for g in s.gpus}
    # the two epochs and the eval window; the steps lie inside the epochs (counted once)
    assert by["0"].energy_kwh == pytest.approx((6410.75 + 6430.75 + 1501.125) / 3.6e6, rel=1e-12)
    assert by["1"].energy_kwh == pytest.approx((6322.0 + 6342.0 + 1477.875) / 3.6e6, rel=1e-12)
    assert by["0"].covered_s == pytest.approx(10 + 10 + 3.5)
    assert by["0"].duration_s == pytest.approx(1796444033.75 - 1796444000.25)
    assert [g["seconds"] for g in by["0"].gaps] == [pytest.approx(7.5)]  # between the second epoch and eval
    assert [seg["gpu"] for seg in s.segments] == ["window epoch", "window epoch", "window eval"]
    assert "peak not in the log" in s.report() and "nan" not in s.report()
    later = read_log(POWERLOGS / "zeus_energy_log.csv", start="2026-12-05T04:13:30")
    assert later.energy_kwh == pytest.approx((6430.75 + 6342.0 + 1501.125 + 1477.875) / 3.6e6, rel=1e-12)


def test_zeus_windows_overlapping_in_part_are_refused(tmp_path, capsys):
    f = tmp_path / "zeus.csv"
    f.write_text("start_time,window_name,elapsed_time,gpu0_energy\n1796444000.0,a,10.0,100.0\n1796444005.0,b,10.0,100.0\n")
    assert main(["telemetry", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aicompute: error: {f}, line 3: window 'b' overlaps the window of line 2 in part")


def test_rocm_smi_average_power_where_a_card_has_no_current_socket_power(tmp_path):
    f = tmp_path / "rocm.csv"
    f.write_text(
        "timestamp,device,Current Socket Graphics Package Power (W),Average Graphics Package Power (W)\n"
        "2026-12-05T04:50:00Z,card0,300.0,N/A\n2026-12-05T04:50:00Z,card1,N/A,N/A (Secondary die)\n2026-12-05T04:50:00Z,card2,N/A,200.0\n"
        "2026-12-05T04:50:02Z,card0,300.0,N/A\n2026-12-05T04:50:02Z,card1,N/A,N/A (Secondary die)\n2026-12-05T04:50:02Z,card2,N/A,200.0\n"
    )
    s = read_log(f)
    assert {g.gpu: round(g.energy_kwh * 3.6e6, 9) for g in s.gpus} == {"card0": 600.0, "card2": 400.0}


def test_a_header_of_two_formats_is_refused(tmp_path, capsys):
    f = tmp_path / "both.csv"
    f.write_text("timestamp,gpu,power_w,power_usage\n1796444000,0,100,100\n")
    assert main(["telemetry", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aicompute: error: {f}, line 1: the header fits several log formats (nvidia-smi or plain, amd-smi)")


def corrupt(text, line, column, value=None):
    """The CSV `text` with the value of `column` on 1-based `line` replaced, or (value None) the
    column removed from every line."""
    lines = text.splitlines()
    at = lines[0].split(",").index(column)
    if value is not None:
        cells = lines[line - 1].split(",")
        cells[at] = value
        lines[line - 1] = ",".join(cells)
    else:
        lines = [",".join(c for k, c in enumerate(row.split(",")) if k != at) for row in lines]
    return "\n".join(lines) + "\n"


CORRUPTED = [
    ("amd_smi_monitor.csv", "power_usage", "12x", 5, "column 'power_usage': value '12x' is not a number"),
    ("amd_smi_monitor.csv", "timestamp", None, 1, "amd-smi log without the column 'timestamp' (amd-smi writes it only when watching: amd-smi monitor -p -w 1"),
    ("amd_smi_metric_power.csv", "socket_power", "0x4B", 4, "column 'socket_power': value '0x4B' is not a number"),
    ("amd_smi_metric_power.csv", "gpu", None, 1, "amd-smi log without the column"),
    ("rocm_smi_showpower.csv", "Current Socket Graphics Package Power (W)", "high", 6, "column 'Current Socket Graphics Package Power (W)': value 'high' is not a number"),
    ("rocm_smi_showpower.csv", "timestamp", None, 1, "rocm-smi log without the column 'timestamp' (rocm-smi writes none"),
    ("dcgm_exporter_power.csv", "DCGM_FI_DEV_POWER_USAGE", "-3.5", 7, "column 'DCGM_FI_DEV_POWER_USAGE': negative value"),
    ("dcgm_exporter_power.csv", "DCGM_FI_DEV_POWER_USAGE", None, 1, "dcgm-exporter log without the column 'DCGM_FI_DEV_POWER_USAGE'"),
    ("dcgm_exporter_power.csv", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "lots", 3, "column 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION': value 'lots' is not a number"),
    ("zeus_energy_log.csv", "gpu1_energy", "1.2kJ", 4, "column 'gpu1_energy': value '1.2kJ' is not a number"),
    ("zeus_energy_log.csv", "elapsed_time", None, 1, "zeus log without the column 'elapsed_time'"),
    ("zeus_energy_log.csv", "elapsed_time", "", 6, "column 'elapsed_time': empty value"),
]


@pytest.mark.parametrize("name, column, value, line, message", CORRUPTED, ids=[f"{c[0]}-{c[1]}-{'missing' if c[2] is None else 'bad'}" for c in CORRUPTED])
def test_corrupted_vendor_logs_one_message_with_file_line_and_column(tmp_path, capsys, name, column, value, line, message):
    f = tmp_path / name
    f.write_text(corrupt((POWERLOGS / name).read_text(), line, column, value))
    assert main(["telemetry", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"aicompute: error: {f}, line {line}: ")
    assert message in err and repr(column) in err


@pytest.mark.parametrize("name", [s[0] for s in SAMPLE_LOGS] + ["zeus_energy_log.csv"])
def test_cli_json_of_vendor_logs(tmp_path, capsys, name):
    out = tmp_path / "t.json"
    assert main(["telemetry", str(POWERLOGS / name), "--json", str(out)]) == 0
    assert "GPU" in capsys.readouterr().out
    data = json.loads(out.read_text())
    s = read_log(POWERLOGS / name)
    assert data["kind"] == s.kind and data["energy_kwh"] == pytest.approx(s.energy_kwh, rel=1e-12)
    assert len(data["gpus"]) == 2 and data["duration_s"] == pytest.approx(s.duration_s)
    assert all(np.isfinite(g["energy_kwh"]) and g["mean_power_w"] > 0 for g in data["gpus"])
