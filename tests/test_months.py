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
    assert "electricity by month (dated phases): 2024-02: monthly mix (months.csv); 2024-03: annual mix of 2023, the nearest year held for 2024 (not in months.csv)" in text
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
    (tmp_path / "months.csv").write_text("month," + ",".join(TECHNOLOGIES) + "\n2024-13,5,0,0,0,0,0,0,0,0\n")
    path = dated(tmp_path, "badfile", [{"name": "run", "kind": "pretraining", "gpu_hours": 10}])
    assert main(["assess", str(path)]) == 2
    assert "site.monthly_mix': months.csv: line 2, column 'month': '2024-13' is not YYYY-MM" in capsys.readouterr().err
    (tmp_path / "months.csv").write_text("month,coal\n2024-01,5\n")
    assert main(["assess", str(path)]) == 2
    assert "months.csv: line 1: needs the columns month, coal, gas" in capsys.readouterr().err
    wide_months(tmp_path / "months.csv")
    assert main(["assess", str(path), "--by", "month"]) == 2
    assert "--by month needs phases with dates" in capsys.readouterr().err


def test_from_slurm_writes_the_phases_dates():
    acc = from_slurm(EXAMPLES / "slurm" / "sacct.txt", EXAMPLES / "slurm" / "rules.yaml")
    phases = [p for _, doc in acc.campaigns for p in doc["phases"]]
    assert phases and all(p["start"] <= p["end"] and len(p["start"]) == 10 for p in phases)


def refused(path: Path, tmp_path: Path, capsys, *says: str) -> str:
    """`assess` of `path` exits 2 with one line holding every one of `says`, writing nothing."""
    out = tmp_path / "refused.json"
    rc = main(["assess", str(path), "--indicator", "climate", "--json", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("aicompute: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert all(s in err for s in says), err
    assert not out.exists()
    return err


def wide(path: Path, *rows: str) -> None:
    path.write_text("\n".join(["month," + ",".join(TECHNOLOGIES), *rows]) + "\n")


def coal(month: str, twh: str = "40") -> str:
    return f"{month}," + ",".join(twh if t == "coal" else "0" for t in TECHNOLOGIES)


RUN = [{"name": "run", "kind": "pretraining", "gpu_hours": 3000, "start": "2024-01", "end": "2024-02"}]


def test_a_month_given_twice_is_refused_naming_both_lines(ready_dir, tmp_path, capsys):
    path = dated(tmp_path, "twice", RUN)
    wide(tmp_path / "months.csv", coal("2024-01"), coal("2024-02"), coal("2024-01", "30"))  # was: the last one wins
    refused(path, tmp_path, capsys, f"{path}: field 'site.monthly_mix': months.csv: line 4, column 'month': 2024-01 is also on line 2")
    ember_months(tmp_path / "ember.csv")
    lines = (tmp_path / "ember.csv").read_text().splitlines()
    (tmp_path / "ember.csv").write_text("\n".join([*lines, lines[1]]) + "\n")  # was: summed
    refused(dated(tmp_path, "twice", RUN, months="ember.csv"), tmp_path, capsys, f"ember.csv: line {len(lines) + 1}, column 'Variable': FRA's Coal in 2024-01 is also on line 2")


@pytest.mark.parametrize("row", ["2024-02,,,,,,,,,", coal("2024-02", "0")])
def test_a_month_without_generation_is_refused(ready_dir, tmp_path, capsys, row):
    """Empty or zero: an error in the file, not a month it lacks (it was read as 'not in the file')."""
    wide(tmp_path / "months.csv", coal("2024-01"), row)
    refused(dated(tmp_path, "empty", RUN), tmp_path, capsys, "months.csv: line 3: month 2024-02 has no generation (every technology column is empty or 0)")
    ember_months(tmp_path / "ember.csv")
    text = (tmp_path / "ember.csv").read_text().replace("Fuel,Wind,TWh,40", "Fuel,Wind,TWh,0")  # February: all zero
    (tmp_path / "ember.csv").write_text(text)
    refused(dated(tmp_path, "empty", RUN, months="ember.csv"), tmp_path, capsys, "ember.csv: line 9: the month 2024-02 of FRA has no generation (the Value of every fuel is empty or 0)")


@pytest.mark.parametrize("cells, says", [
    ((coal("2024-01", "1e308"), coal("2024-02", "1e308")), "line 2, column 'coal': '1e308' is above 10,000 TWh"),
    ((coal("2024-01"), "2024-02,6000,5000,0,0,0,0,0,0,0"), "line 3: month 2024-02 adds up to 11,000 TWh, above 10,000 TWh"),
    ((coal("2024-01", "-1"),), "line 2, column 'coal': '-1' must be a finite number >= 0"),
    ((coal("2024-01", "nan"),), "line 2, column 'coal': 'nan' must be a finite number >= 0"),
    ((coal("2024-01"), "2024-02,1"), "line 3: 2 cells; the header (line 1) has 10"),
])
def test_generation_is_bounded(ready_dir, tmp_path, capsys, cells, says):
    """1e308 TWh overflowed the month's sums (a traceback); a month is at most 10,000 TWh."""
    wide(tmp_path / "months.csv", *cells)
    refused(dated(tmp_path, "huge", RUN), tmp_path, capsys, "field 'site.monthly_mix': months.csv: " + says)


def test_embers_values_are_bounded(ready_dir, tmp_path, capsys):
    ember_months(tmp_path / "ember.csv")
    text = (tmp_path / "ember.csv").read_text().replace("Fuel,Coal,TWh,40", "Fuel,Coal,TWh,1e308")
    (tmp_path / "ember.csv").write_text(text)
    refused(dated(tmp_path, "huge", RUN, months="ember.csv"), tmp_path, capsys, "ember.csv: line 2, column 'Value': '1e308' is above 10,000 TWh")


@pytest.mark.parametrize("start, end, key, says", [
    ("0001-01", "2024-12", "start", "'0001-01' is in the year 1; a phase's dates lie in the years 1990-2100"),  # was: 13 GB, killed
    ("2024-01", "9999-12-31", "end", "'9999-12-31' is in the year 9999"),  # was: OverflowError
    ("2024-01", "2074-01", "end", "the phase spans 601 months (2024-01 to 2074-01); a dated phase spans at most 600 months"),
])
def test_dates_are_bounded_before_anything_is_built(ready_dir, tmp_path, capsys, start, end, key, says):
    wide(tmp_path / "months.csv", coal("2024-01"))
    path = dated(tmp_path, "long", [{"name": "run", "kind": "pretraining", "gpu_hours": 3000, "start": start, "end": end}])
    refused(path, tmp_path, capsys, f"field 'phases[1] (run).{key}': {says}")


def test_a_time_with_a_utc_offset_is_converted_to_utc(tmp_path):
    """Midnight at +05:00 is 19:00 UTC the day before (the offset was dropped); a time without
    one is UTC; YAML's own timestamps (unquoted) read the same as text."""
    from bw_aicompute.campaign import read_campaign

    wide(tmp_path / "months.csv", coal("2024-01"))
    path = dated(tmp_path, "offset", [
        {"name": "text", "kind": "pretraining", "gpu_hours": 10, "start": "2024-01-01T00:00:00+05:00", "end": "2024-01-31"},
        {"name": "naive", "kind": "pretraining", "gpu_hours": 10, "start": "2024-01-31T19:00", "end": "2024-02-01T05:00"},
    ])
    path.write_text(path.read_text() + "- {name: yaml, kind: pretraining, gpu_hours: 10, start: 2024-01-01T00:00:00+05:00, end: 2024-01-31}\n")
    phases = read_campaign(path).phases
    hours = 31 * 24 + 5
    for p in (phases[0], phases[2]):
        assert p.months == pytest.approx({"2023-12": 5 / hours, "2024-01": 1 - 5 / hours}), p.name
    assert phases[1].months == pytest.approx({"2024-01": 0.5, "2024-02": 0.5})


@pytest.mark.parametrize("compute, says", [
    ({"gpus": 256, "hours": 5000}, "5,000 h do not fit in the phase's dates: each of its 256 GPUs would run 5,000 h in the 744 h from 2024-01-01 00:00 to 2024-02-01 00:00 UTC; at most 744 h fit (190,464 GPU-hours)"),
    ({"nodes": 32, "hours": "800 h"}, "800 h do not fit in the phase's dates: each of its 256 GPUs would run 800 h in the 744 h"),
])
def test_gpu_hours_that_cannot_fit_in_the_dates_are_refused(ready_dir, tmp_path, capsys, compute, says):
    wide(tmp_path / "months.csv", coal("2024-01"))
    path = dated(tmp_path, "fit", [{"name": "run", "kind": "pretraining", **compute, "start": "2024-01", "end": "2024-01"}])
    refused(path, tmp_path, capsys, f"field 'phases[1] (run).hours': {says}")


@pytest.mark.parametrize("compute, says", [
    ({"gpus": 1e7, "hours": 1e5}, "gpus x hours is 1e+12 GPU-hours; a phase has at most 100,000,000,000 GPU-hours"),
    ({"nodes": 1e7, "hours": 1e4}, "nodes x hours x 8 GPUs per node is 8e+11 GPU-hours"),
])
def test_gpus_times_hours_is_held_to_the_bound_of_gpu_hours(ready_dir, tmp_path, capsys, compute, says):
    """gpu_hours is at most 10^11 (docs/campaigns.md); gpus x hours reached 10^13 unchecked."""
    wide(tmp_path / "months.csv", coal("2024-01"))
    refused(dated(tmp_path, "many", [{"name": "run", "kind": "pretraining", **compute}]), tmp_path, capsys, f"field 'phases[1] (run).hours': {says}")


def test_gpu_hours_that_fit_and_gpu_hours_alone_are_accepted(tmp_path):
    from bw_aicompute.campaign import read_campaign

    wide(tmp_path / "months.csv", coal("2024-01"))
    path = dated(tmp_path, "fits", [
        {"name": "full", "kind": "pretraining", "gpus": 256, "hours": "31 d", "start": "2024-01", "end": "2024-01"},
        {"name": "total", "kind": "pretraining", "gpu_hours": 1e9, "start": "2024-01", "end": "2024-01"},  # no GPU count: its bound only
    ])
    assert [p.gpu_hours for p in read_campaign(path).phases] == [256 * 744, 1e9]


@pytest.mark.parametrize("header, says", [
    ("month," + ",".join(TECHNOLOGIES) + ",total", "line 1: needs the columns month, coal, gas, oil, nuclear, hydro, wind, solar, bio, geo (TWh), and no other; unknown column 'total'"),
    ("month," + ",".join(TECHNOLOGIES[:-1]) + ",coal", "line 1: the column 'coal' is given twice"),
    ("ISO 3 code,Date,Category,Subcategory,Variable,Unit", "line 1: Ember's monthly data has the columns ISO 3 code, Date, Category, Subcategory, Variable, Unit, Value; missing Value"),
])
def test_a_monthly_files_columns_are_checked(tmp_path, header, says):
    """A column the reader would drop (its generation lost) or read twice (the last one kept)."""
    from bw_aicompute.campaign.dates import read_monthly_mix

    (tmp_path / "m.csv").write_text(header + "\n" + ",".join(["2024-01", *["1"] * header.count(",")]) + "\n")
    with pytest.raises(ValueError) as exc:
        read_monthly_mix(tmp_path / "m.csv", "FRA")
    assert str(exc.value) == says
