"""Time-explicit LCA with bw_timex (`aicompute assess --timex`): a real bw_timex run on the
campaign's databases, whose static score is the LCA's, with hardware dated before its use and
electricity in the months of the phases."""

import json
import re
from pathlib import Path

import openpyxl
import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.cli import main

pytest.importorskip("bw_timex")

EXAMPLES = Path(__file__).parents[1] / "examples"
HARDWARE_STAGES = ("GPU manufacturing", "server, network and storage manufacturing", "datacenter infrastructure")


def test_moshi_like_static_score_is_the_lcas_and_hardware_comes_first(ready_dir):
    a = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"], timex=True)
    t, total = a.timex, a.totals["value"].iloc[0]
    assert t.static_score == pytest.approx(total, rel=1e-6) and t.base_score == pytest.approx(total, rel=1e-6)
    # no dated phase: the campaign at 1 January of its grid's year; its hardware made in the
    # 5.75 years before (one point per year), its electricity and water at the start
    assert t.start.year == 2023 and t.start.month == 1
    by_year = t.by_year.set_index("year")["emissions_kg_co2e"]
    hardware = a.by_stage().loc[list(HARDWARE_STAGES), "climate"].sum()
    assert by_year[by_year.index < 2023].sum() == pytest.approx(hardware, rel=1e-6)
    assert sorted(by_year.index) == [2017, 2018, 2019, 2020, 2021, 2022, 2023]
    assert by_year[2017] == pytest.approx(hardware * 0.75 / 5.75, rel=1e-6)  # the last, partial year of 5.75
    # dynamic climate: the same order of magnitude, computed by dynamic_characterization
    assert 0.9 * total < t.dynamic_gwp < 1.1 * total and t.radiative_forcing > 0


def test_a_dated_campaign_puts_its_electricity_in_its_months(ready_dir, tmp_path, capsys):
    doc = {"campaign": {"name": "dated timex"}, "site": {"country": "FR"}, "hardware": {"gpu": "H100 SXM 80GB", "lifetime_years": 4},
           "phases": [{"name": "run", "kind": "pretraining", "gpu_hours": 20000, "start": "2025-11-20", "end": "2026-02-10"}]}
    path = tmp_path / "dated.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "r.json"
    xlsx = tmp_path / "r.xlsx"
    assert main(["assess", str(path), "--indicator", "climate", "--timex", "--json", str(out), "--excel", str(xlsx)]) == 0
    text = capsys.readouterr().out
    assert "Time-explicit LCA (bw_timex), climate" in text and "start 2025-11-01 (the first month of the dated phases)" in text
    assert "WARNING" not in text
    t = json.loads(out.read_text())["timex"]
    total = json.loads(out.read_text())["totals"]["climate"]["value"]
    assert t["static_score_kg_co2e"] == pytest.approx(total, rel=1e-6)
    years = {r["year"]: r["emissions_kg_co2e"] for r in t["by_year"]}
    # the use in 2025 and 2026 (the electricity of Nov-Dec and of Jan-Feb); the hardware made
    # 0.5 to 3.5 years before each month of use: mid-2022 to late 2025
    assert set(years) == {2022, 2023, 2024, 2025, 2026}
    a = assess(path, indicators=["climate"])
    hardware = a.by_stage().loc[list(HARDWARE_STAGES), "climate"].sum()
    for year in (2022, 2023, 2024):  # a quarter of the 4-year life's manufacture each
        assert years[year] == pytest.approx(hardware / 4, rel=1e-6)
    assert years[2025] + years[2026] == pytest.approx(total - 3 * hardware / 4, rel=1e-6)
    assert "Time-explicit" in openpyxl.load_workbook(xlsx, read_only=True).sheetnames


def test_ten_phases_over_twelve_months_are_dated_completely(ready_dir, tmp_path):
    """moshi_like's phases and one more, dated over the twelve months of 2024: the dated
    inventory holds the whole campaign (its years add up to the LCA's total; bw_timex's walk of
    a dynamic foreground stopped at its max_calc and lost 1% of it), electricity in 2024 and
    hardware made before, without bw_timex's warning of a cut traversal."""
    import warnings

    doc = yaml.safe_load((EXAMPLES / "moshi_like.yaml").read_text())
    phases = doc["phases"] + [dict(doc["phases"][0], name="extra evaluation", kind="evaluation", hours=300, nodes=8)]
    for k, p in enumerate(phases[:10]):  # four months each, the last phase the whole year
        p["start"], p["end"] = (f"2024-{min(k + 1, 9):02d}-01", f"2024-{min(k + 4, 12):02d}-28") if k < 9 else ("2024-01-01", "2024-12-31")
    doc["phases"], doc["campaign"]["name"] = phases[:10], "dated twelve months"
    path = tmp_path / "dated12.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = assess(path, indicators=["climate"], timex=True)
    assert not [w for w in caught if "Stopping traversal" in str(w.message)]
    total, by_year = a.totals["value"].iloc[0], a.timex.by_year.set_index("year")["emissions_kg_co2e"]
    assert a.timex.static_score == pytest.approx(total, rel=1e-6)
    assert by_year.sum() == pytest.approx(total, rel=1e-6)
    hardware = a.by_stage().loc[list(HARDWARE_STAGES), "climate"].sum()
    assert 0 < by_year[by_year.index < 2024].sum() < hardware and by_year[2024] > total - hardware


def test_a_complete_dated_inventory_gives_no_coverage_warning_and_a_partial_one_warns(ready_dir, monkeypatch):
    """moshi_like: bw_graph_tools' "covered only 85 %" (its walk of the campaign's dynamic copy
    alone) is not passed on, since the years add up to the LCA; a dated inventory that does not
    add up (one year dropped) is reported with the share it holds."""
    import warnings

    from bw_aicompute import timex

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"], timex=True)
    assert not [w for w in caught if "covered only" in str(w.message) or "time-explicit inventory holds" in str(w.message)]
    assert a.timex.by_year["emissions_kg_co2e"].sum() == pytest.approx(a.totals["value"].iloc[0], rel=1e-6)
    whole = timex._static_by_year
    monkeypatch.setattr(timex, "_static_by_year", lambda tl: whole(tl).iloc[:-1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"], timex=True)
    messages = [str(w.message) for w in caught]
    assert any(re.search(r"time-explicit inventory holds .* \(2[0-9]\.[0-9]{2}%\)", m) for m in messages)
    assert any("covered only" in m for m in messages)  # bw_graph_tools' own warning passed on then
