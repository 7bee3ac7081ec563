"""Hourly intensities: a power log with timestamps weighted by an hourly intensity series the
user provides, applied to the phase's electricity, and compared with the annual and monthly mixes."""

import datetime as dt
from pathlib import Path

import bw2calc as bc
import bw2data as bd
import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.methods import resolve_indicator
from test_months import refused

# W per GPU in each hour of the log (2 GPUs, 22:00 to 01:00 UTC) and the series' kg CO2-eq/kWh
POWER = {22: 600.0, 23: 300.0, 0: 450.0}
# the trapezoid of the 2-s interval across a change of power mixes the two levels: one sample
# interval per hour is the resolution of the energy by hour
STEP = 2 / 3600
SERIES = {21: 0.05, 22: 0.03, 23: 0.06, 0: 0.09, 1: 0.04}


def write_inputs(tmp_path: Path, series_start: int = 21) -> Path:
    t0 = dt.datetime(2024, 3, 10, 22)
    rows = ["timestamp,power_w,gpu"]
    for k in range(0, 3 * 3600 + 1, 2):
        t = t0 + dt.timedelta(seconds=k)
        rows += [f"{t.isoformat()}Z,{POWER[min(t.hour, 23) if k < 3 * 3600 else 0]},{g}" for g in (0, 1)]
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n")
    s = ["timestamp,zone,kg_co2e_per_kwh,l_per_kwh"]
    for h in range(5):
        t = dt.datetime(2024, 3, 10, series_start) + dt.timedelta(hours=h)
        s += [f"{t.isoformat()}Z,FR,{SERIES.get(t.hour, 0.05)},1.5", f"{t.isoformat()}Z,DE,0.4,2"]
    (tmp_path / "hourly.csv").write_text("\n".join(s) + "\n")
    doc = {"campaign": {"name": "hourly"}, "site": {"country": "FR", "hourly_intensity": "hourly.csv"},
           "hardware": {"gpu": "H100 SXM 80GB"},
           "phases": [{"name": "measured", "kind": "fine-tuning", "telemetry": "log.csv"}, {"name": "modelled", "kind": "evaluation", "gpu_hours": 10}]}
    path = tmp_path / "hourly.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_log_is_weighted_by_the_series_and_compared(ready_dir, tmp_path, capsys):
    path = write_inputs(tmp_path)
    by_hand = sum(POWER[h] * SERIES[h] for h in POWER) / sum(POWER.values())  # equal hours of each power
    a = assess(path, indicators=["climate", "water_consumption"])
    measured = a.model.phases[0]
    assert measured.hourly["kg_per_kwh"] == pytest.approx(by_hand, rel=STEP) and measured.hourly["hours"] == 3
    # the phase's electricity is the hourly intensity (CO2-eq as CO2) per kWh drawn
    grid = bd.get_node(database=a.database, code="grid-hourly-1")
    lca = bc.LCA({grid: 1}, resolve_indicator("climate").method)
    lca.lci()
    lca.lcia()
    assert lca.score == pytest.approx(measured.hourly["kg_per_kwh"], rel=1e-6)
    water = next(e for e in grid.biosphere() if e.input["name"] == "Water" and e.input["categories"] == ("air",))
    assert water["amount"] == pytest.approx(1.5e-3, rel=1e-9)
    # the annual mix it is compared with is the FR grid's own
    fr = bc.LCA({bd.get_node(database="aicompute-background", code="electricity-grid-FR"): 1}, resolve_indicator("climate").method)
    fr.lci()
    fr.lcia()
    assert measured.hourly["annual_kg_per_kwh"] == pytest.approx(fr.score, rel=1e-6)
    assert main(["assess", str(path), "--indicator", "climate"]) == 0
    out = capsys.readouterr().out
    h = measured.hourly["kg_per_kwh"]
    assert f"phase measured: {h:.4g} kg CO2-eq/kWh, weighted by the log's GPU energy over 3 h (100% of it)" in out
    assert f"({h / fr.score - 1:+.1%} hourly vs annual)" in out


def test_a_series_that_misses_the_log_is_refused(ready_dir, tmp_path, capsys):
    path = write_inputs(tmp_path, series_start=5)  # 05:00 to 09:00: none of the log's hours
    assert main(["assess", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "phases[1] (measured).telemetry" in err
    assert "2024-03-10 22:00 to 2024-03-11 00:00 UTC) are not in hourly.csv (zone FR: 2024-03-10 05:00 to 2024-03-10 09:00)" in err


def test_a_partial_series_says_its_coverage(ready_dir, tmp_path):
    path = write_inputs(tmp_path, series_start=23)  # 23:00 onwards: two of the three hours
    a = assess(path, indicators=["climate"])
    h = a.model.phases[0].hourly
    assert h["hours"] == 2 and h["coverage"] == pytest.approx((300 + 450) / 1350, rel=1e-3)
    assert h["kg_per_kwh"] == pytest.approx((300 * SERIES[23] + 450 * SERIES[0]) / 750, rel=STEP)


def edit_series(tmp_path: Path, line: int, text: str, insert: bool = False) -> None:
    """Replace (or insert before) line `line` (1-based, the header is 1) of the hourly series."""
    lines = (tmp_path / "hourly.csv").read_text().splitlines()
    lines[line - 1:line - 1 + (not insert)] = [text]
    (tmp_path / "hourly.csv").write_text("\n".join(lines) + "\n")


def test_an_hour_given_twice_is_refused_naming_both_lines(ready_dir, tmp_path, capsys):
    """Line 4 is 22:00 of FR; a second 22:00 (here at +01:00: the same UTC hour) won silently."""
    path = write_inputs(tmp_path)
    lines = (tmp_path / "hourly.csv").read_text().splitlines()
    assert lines[3].startswith("2024-03-10T22:00:00Z,FR")
    edit_series(tmp_path, 12, "2024-03-10T23:30:00+01:00,FR,0.9,1.5", insert=True)
    refused(path, tmp_path, capsys, f"{path}: field 'site.hourly_intensity.file': hourly.csv: line 12, column 'timestamp': the hour 2024-03-10 22:00 UTC of zone FR is also on line 4")


@pytest.mark.parametrize("row, says", [
    ("2024-03-10T22:00:00Z,FR,1e300,1.5", "line 4, column 'kg_co2e_per_kwh': '1e300' is above 2 kg CO2-eq/kWh"),  # was: null totals
    ("2024-03-10T22:00:00Z,FR,2.5,1.5", "line 4, column 'kg_co2e_per_kwh': '2.5' is above 2 kg CO2-eq/kWh"),
    ("2024-03-10T22:00:00Z,FR,0.03,1e300", "line 4, column 'l_per_kwh': '1e300' is above 200 L/kWh"),
    ("2024-03-10T22:00:00Z,FR,,1.5", "line 4, column 'kg_co2e_per_kwh': is empty"),  # was: read as 0
    ("2024-03-10T22:00:00Z,FR,nan,1.5", "line 4, column 'kg_co2e_per_kwh': 'nan' must be a finite number >= 0"),
    ("0001-01-01T00:00:00+05:00,FR,0.03,1.5", "line 4, column 'timestamp': '0001-01-01T00:00:00+05:00' is not an ISO 8601 time"),  # was: OverflowError
    ("2024-03-10T22:00:00Z,FR,0.03", "line 4: 3 cells; the header (line 1) has 4"),
])
def test_intensities_are_bounded_and_given(ready_dir, tmp_path, capsys, row, says):
    path = write_inputs(tmp_path)
    edit_series(tmp_path, 4, row)
    refused(path, tmp_path, capsys, "field 'site.hourly_intensity.file': hourly.csv: " + says)
