"""Dated campaigns: phases with `start` and `end`, their electricity from the generation mix of
each month (a monthly file), the annual mix otherwise, said in the report; results by month."""

import json
from pathlib import Path

import bw2data as bd
import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.slurm import from_slurm

EXAMPLES = Path(__file__).parents[1] / "examples"
TECHNOLOGIES = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo")
# IPCC AR5 WG3 Annex III, lifecycle medians: pulverised coal 820 g CO2-eq/kWh, of which 47 g of
# methane at AR5's GWP100 of 28 (29.8 for fossil methane in IPCC 2021, the climate indicator);
# onshore wind 11 g
# hard coal at the fleet's 37 % (IPCC 2006 factor; AR5's methane at GWP100 29.8 and the rest of
# its supply chain, scaled with the coal burnt), onshore wind at AR5's 11 g
COAL = 3.6 / 0.37 * 0.0946 + (0.047 / 28 * 29.8 + 0.013) * 0.448 / 0.37
WIND = 0.011
EMBER_HEADER = "Area,ISO 3 code,Date,Area type,Continent,Ember region,EU,OECD,G20,G7,ASEAN,Category,Subcategory,Variable,Unit,Value,YoY absolute change,YoY % change"


def wide_months(path: Path) -> Path:
    """January all coal, February all wind (TWh), as a wide CSV."""
    rows = ["month," + ",".join(TECHNOLOGIES), "2024-01," + ",".join("40" if t == "coal" else "0" for t in TECHNOLOGIES),
            "2024-02," + ",".join("40" if t == "wind" else "0" for t in TECHNOLOGIES)]
    path.write_text("\n".join(rows) + "\n")
    return path


def ember_months(path: Path) -> Path:
    """The same two months in the layout of Ember's monthly file (long format), with rows of
    another country and of other categories that must be ignored."""
    rows = [EMBER_HEADER]
    for date, fuel in (("2024-01-01", "Coal"), ("2024-02-01", "Wind")):
        for var in ("Coal", "Gas", "Wind", "Nuclear"):
            rows.append(f"France,FRA,{date},Country or economy,Europe,EU,1,1,1,1,0,Electricity generation,Fuel,{var},TWh,{40 if var == fuel else 0},,")
        rows.append(f"France,FRA,{date},Country or economy,Europe,EU,1,1,1,1,0,Electricity generation,Total,Total Generation,TWh,40,,")
        rows.append(f"France,FRA,{date},Country or economy,Europe,EU,1,1,1,1,0,Electricity generation,Fuel,Coal,%,100,,")
        rows.append(f"Germany,DEU,{date},Country or economy,Europe,EU,1,1,1,1,0,Electricity generation,Fuel,Gas,TWh,30,,")
    path.write_text("\n".join(rows) + "\n")
    return path


def dated(tmp_path: Path, name: str, phases: list[dict], months: str = "months.csv") -> Path:
    doc = {"campaign": {"name": name}, "site": {"country": "FR", "monthly_mix": months},
           "hardware": {"gpu": "H100 SXM 80GB"}, "phases": phases}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_phase_over_two_months_is_the_hours_weighted_sum_of_two(ready_dir, tmp_path):
    wide_months(tmp_path / "months.csv")
    # 16 January to 14 February: 16 days in January, 14 in February
    one = dated(tmp_path, "spread", [{"name": "run", "kind": "pretraining", "gpu_hours": 3000, "start": "2024-01-16", "end": "2024-02-14"}])
    two = dated(tmp_path, "split", [
        {"name": "january", "kind": "pretraining", "gpu_hours": 1600, "start": "2024-01-16", "end": "2024-01-31"},
        {"name": "february", "kind": "pretraining", "gpu_hours": 1400, "start": "2024-02-01", "end": "2024-02-14"},
    ])
    names = ["climate", "water_scarcity", "adp_minerals"]
    a, b = (assess(p, indicators=names) for p in (one, two))
    for name in names:
        total = a.totals.set_index("indicator").loc[name, "value"]
        assert total == pytest.approx(b.totals.set_index("indicator").loc[name, "value"], rel=1e-6), name
        assert a.months[name].sum() == pytest.approx(total, rel=1e-9)
    # each month's electricity is its own mix: January coal, February wind (AR5 medians)
    grid_kwh = {m: sum(e["amount"] for e in bd.get_node(database=a.database, code=f"datacenter-operation-{m}").technosphere()) for m in ("2024-01", "2024-02")}
    energy = a.phases["it_energy_kwh"].sum()
    electricity = a.breakdown[(a.breakdown["stage"] == "electricity") & (a.breakdown["indicator"] == "climate")]["value"].sum()
    assert electricity == pytest.approx(energy * (16 / 30 * grid_kwh["2024-01"] * COAL + 14 / 30 * grid_kwh["2024-02"] * WIND), rel=1e-5)
    assert list(a.months["electricity"]) == ["monthly mix (months.csv)"] * 2


def test_embers_monthly_file_reads_as_the_wide_one(ready_dir, tmp_path):
    wide_months(tmp_path / "months.csv")
    ember_months(tmp_path / "ember.csv")
    phase = [{"name": "run", "kind": "pretraining", "gpu_hours": 3000, "start": "2024-01-16", "end": "2024-02-14"}]
    a = assess(dated(tmp_path, "wide", phase), indicators=["climate"])
    b = assess(dated(tmp_path, "ember", phase, months="ember.csv"), indicators=["climate"])
    assert b.totals["value"].iloc[0] == pytest.approx(a.totals["value"].iloc[0], rel=1e-9)


def test_months_without_data_use_the_annual_mix_and_say_so(ready_dir, tmp_path, capsys):
    wide_months(tmp_path / "months.csv")
    path = dated(tmp_path, "partly", [
        {"name": "run", "kind": "pretraining", "gpu_hours": 3000, "start": "2024-02", "end": "2024-03"},
        {"name": "debug", "kind": "debugging", "gpu_hours": 100},
    ])
    annual = dated(tmp_path, "annual", [{"name": "run", "kind": "pretraining", "gpu_hours": 3000 * 31 / 60}, {"name": "debug", "kind": "debugging", "gpu_hours": 100}])
    doc = yaml.safe_load(annual.read_text())
    del doc["site"]["monthly_mix"]
    doc["site"]["grid_year"] = 2023  # a dated campaign's other months take the latest year's mix
    annual.write_text(yaml.safe_dump(doc))
    out = tmp_path / "r.json"
    assert main(["assess", str(path), "--indicator", "climate", "--json", str(out), "--by", "month", "--plot", str(tmp_path / "m.png")]) == 0
    text = capsys.readouterr().out
    assert "electricity by month (dated phases): 2024-02: monthly mix (months.csv); 2024-03: annual mix (not in months.csv)" in text
    assert "undated phases (debug): the annual mix above" in text and "By month" in text
    rows = {r["month"]: r for r in json.loads(out.read_text())["months"]}
    assert set(rows) == {"2024-02", "2024-03", "undated"} and rows["2024-03"]["electricity"].startswith("annual mix")
    # March (31 of the 60 days) and the undated phase are exactly the annual mix's
    b = assess(annual, indicators=["climate"])
    assert rows["2024-03"]["climate"] + rows["undated"]["climate"] == pytest.approx(b.totals["value"].iloc[0], rel=1e-6)
    assert (tmp_path / "m.png").stat().st_size > 10_000


@pytest.mark.parametrize("phase, problem", [
    ({"start": "2024-03-01", "end": "2024-02-01"}, "is not after the start"),
    ({"start": "March 2024", "end": "2024-04"}, "is not a date: give YYYY-MM-DD or YYYY-MM"),
    ({"start": "2024-03"}, "end': is required when the phase has a start"),
])
def test_bad_dates_are_one_message(ready_dir, tmp_path, capsys, phase, problem):
    wide_months(tmp_path / "months.csv")
    path = dated(tmp_path, "bad", [{"name": "run", "kind": "pretraining", "gpu_hours": 10, **phase}])
    assert main(["assess", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "phases[1] (run)" in err and problem in err, err


def test_bad_monthly_file_and_by_month_without_dates(ready_dir, tmp_path, capsys):
    (tmp_path / "months.csv").write_text("month,coal\n2024-13,5\n")
    path = dated(tmp_path, "badfile", [{"name": "run", "kind": "pretraining", "gpu_hours": 10}])
    assert main(["assess", str(path)]) == 2
    assert "site.monthly_mix': months.csv: line 2: month '2024-13' is not YYYY-MM" in capsys.readouterr().err
    wide_months(tmp_path / "months.csv")
    assert main(["assess", str(path), "--by", "month"]) == 2
    assert "--by month needs phases with dates" in capsys.readouterr().err


def test_from_slurm_writes_the_phases_dates():
    acc = from_slurm(EXAMPLES / "slurm" / "sacct.txt", EXAMPLES / "slurm" / "rules.yaml")
    phases = [p for _, doc in acc.campaigns for p in doc["phases"]]
    assert phases and all(p["start"] <= p["end"] and len(p["start"]) == 10 for p in phases)
