"""The US states' shipped monthly generation (EIA-923 by state and month, via Ember): a dated
phase at a state site gets each month's own mix without a user file, and the months add up to
the years of the annual file (issue 39)."""

import csv
import json
from pathlib import Path

import pytest
import yaml

from bw_aicompute.cli import main

INVENTORIES = Path(__file__).parents[1] / "inventories" / "us_states"
TECHS = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo")


def rows(name: str) -> list[dict]:
    lines = [line for line in (INVENTORIES / name).read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def test_every_states_months_add_up_to_its_years():
    """2015-2020: each state's twelve months, summed, give the annual file's shares within 2
    points and its total within 2 % (two Ember files of EIA's data: monthly and yearly). 2021's
    months are EIA's preliminary monthly figures (up to 7 points off in small states): left out."""
    months, years = rows("monthly_generation.csv"), rows("yearly_generation.csv")
    assert len({r["state"] for r in months}) == 51 and len({r["state"] for r in years}) == 51
    annual = {(r["state"], int(r["year"])): {t: float(r[t]) for t in TECHS} for r in years}
    summed: dict = {}
    for r in months:
        key = (r["state"], int(r["month"][:4]))
        for t in TECHS:
            summed.setdefault(key, dict.fromkeys(TECHS, 0.0))[t] += float(r[t])
    checked = 0
    for (state, year), gen in summed.items():
        if not 2015 <= year <= 2020:
            continue
        ref, total, ref_total = annual[(state, year)], sum(gen.values()), sum(annual[(state, year)].values())
        assert total == pytest.approx(ref_total, rel=0.02), (state, year)
        for t in TECHS:
            assert gen[t] / total == pytest.approx(ref[t] / ref_total, abs=0.02), (state, year, t)
        checked += 1
    assert checked == 51 * 6


def campaign(tmp_path: Path, **site) -> Path:
    doc = {"campaign": {"name": "texas dated"}, "site": {"country": "US-TX", **site}, "hardware": {"gpu": "H100 SXM 80GB"},
           "phases": [{"name": "run", "kind": "pretraining", "gpus": 64, "hours": 1000, "start": "2022-07-01", "end": "2022-09-30"}]}
    path = tmp_path / "tx.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_dated_phase_in_a_state_takes_its_months_without_a_file(ready_dir, tmp_path, capsys):
    out = tmp_path / "tx.json"
    assert main(["assess", str(campaign(tmp_path)), "--indicator", "climate", "--json", str(out)]) == 0
    report = capsys.readouterr().out
    assert "2022-07, 2022-08: monthly mix (EIA-923 by state and month via Ember, shipped); 2022-09: annual mix" in report
    months = {r["month"]: r for r in json.loads(out.read_text())["months"]}
    assert months["2022-07"]["electricity"].startswith("monthly mix") and months["2022-09"]["electricity"].startswith("annual mix")
    # the same months from a user's file in the wide layout (TWh) give the same result
    texas = [r for r in rows("monthly_generation.csv") if r["state"] == "US-TX" and r["month"] in ("2022-07", "2022-08")]
    lines = ["month," + ",".join(TECHS)] + [r["month"] + "," + ",".join(str(float(r[t]) / 1000) for t in TECHS) for r in texas]
    (tmp_path / "tx.csv").write_text("\n".join(lines) + "\n")
    own = tmp_path / "own.json"
    assert main(["assess", str(campaign(tmp_path, monthly_mix="tx.csv")), "--indicator", "climate", "--json", str(own), "--replace"]) == 0
    mine = {r["month"]: r for r in json.loads(own.read_text())["months"]}
    for m in ("2022-07", "2022-08", "2022-09"):
        assert mine[m]["climate"] == pytest.approx(months[m]["climate"], rel=1e-5), m


def test_embers_country_file_is_refused_for_a_state(ready_dir, tmp_path, capsys):
    (tmp_path / "ember.csv").write_text("ISO 3 code,Date,Category,Subcategory,Variable,Unit,Value\nUSA,2022-07-01,Electricity generation,Fuel,Coal,TWh,60\n")
    out = tmp_path / "x.json"
    assert main(["assess", str(campaign(tmp_path, monthly_mix="ember.csv")), "--indicator", "climate", "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert "site.monthly_mix" in err and "no states or provinces" in err and err.count("\n") == 1
    assert not out.exists()


def test_a_state_in_any_year_of_the_series(ready_dir, tmp_path, capsys):
    """`site.grid_year` for a state: 2001-2024 from the shipped yearly generation, the state's
    own grid of that year (its coal share as in the file); 2023 is the state's dataset; a year
    outside the series is refused with the years available."""
    import bw2data as bd

    from bw_aicompute import assess

    def iowa(year: int) -> Path:
        doc = {"campaign": {"name": f"iowa {year}"}, "site": {"country": "US-IA", "grid_year": year}, "hardware": {"gpu": "H100 SXM 80GB"},
               "phases": [{"name": "run", "kind": "pretraining", "gpus": 64, "hours": 1000}]}
        path = tmp_path / f"iowa{year}.yaml"
        path.write_text(yaml.safe_dump(doc))
        return path

    electricity = {}
    for year in (2015, 2023):
        a = assess(iowa(year), indicators=["climate"])
        electricity[year] = a.breakdown.query("stage == 'electricity'")["value"].sum()
    gen = {r["year"]: r for r in rows("yearly_generation.csv") if r["state"] == "US-IA"}
    coal = {y: float(gen[str(y)]["coal"]) / sum(float(gen[str(y)][t]) for t in TECHS) for y in (2015, 2023)}
    assert coal[2015] > 1.8 * coal[2023]  # Iowa's coal halved as its wind grew
    assert electricity[2015] > 1.4 * electricity[2023]
    grid = bd.get_node(database="aicompute-campaign-iowa-2015", code="grid-2015")
    coal_in = sum(e["amount"] for e in grid.technosphere() if "coal" in e.input["name"])
    assert coal_in == pytest.approx(coal[2015], rel=1e-3) and grid["location"] == "US-IA"
    assert main(["assess", str(iowa(1999)), "--indicator", "climate"]) == 2
    assert "no generation mix of 1999 for US-IA; years available: 2001, 2002" in capsys.readouterr().err


def site_campaign(tmp_path: Path, name: str, site: dict, phases: list[dict]) -> Path:
    doc = {"campaign": {"name": name}, "site": site, "hardware": {"gpu": "H100 SXM 80GB"}, "phases": phases}
    path = tmp_path / f"{name.replace(' ', '_')}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_dated_month_outside_the_shipped_months_takes_its_own_years_mix(ready_dir, tmp_path, capsys):
    """Months after 2022-08 at a state site: the annual mix of the month's own year (2024 is not
    2023), or the nearest year held (2026 -> 2024), said in the report and the JSON; each
    month's electricity equals the same GPU time on an undated campaign with site.grid_year of
    that year (two code paths, one answer)."""
    run = {"kind": "pretraining", "gpus": 64, "hours": 100}
    dated = site_campaign(tmp_path, "va dated", {"country": "US-VA"}, [
        dict(run, name="y2024", start="2024-03-01", end="2024-03-20"), dict(run, name="y2026", start="2026-03-01", end="2026-03-20")])
    out = tmp_path / "dated.json"
    assert main(["assess", str(dated), "--indicator", "climate", "--json", str(out)]) == 0
    report = capsys.readouterr().out
    assert "2024-03: annual mix of 2024 (not in EIA-923 by state and month" in report
    assert "2026-03: annual mix of 2024, the nearest year held for 2026" in report
    doc = json.loads(out.read_text())
    months = {r["month"]: r for r in doc["months"]}
    assert months["2026-03"]["electricity"].startswith("annual mix of 2024, the nearest year held")
    for year in (2023, 2024):
        fixed = site_campaign(tmp_path, f"va {year}", {"country": "US-VA", "grid_year": year}, [dict(run, name="run")])
        j = tmp_path / f"va{year}.json"
        assert main(["assess", str(fixed), "--indicator", "climate", "--json", str(j)]) == 0
        months[year] = json.loads(j.read_text())["totals"]
    assert months["2024-03"]["climate"] == pytest.approx(months[2024]["climate"]["value"], rel=1e-4)
    assert months["2024-03"]["climate"] != pytest.approx(months[2023]["climate"]["value"], rel=1e-3)


def test_an_undated_state_campaign_draws_its_latest_years_and_the_us_has_every_year(ready_dir, tmp_path, capsys):
    """A state site without grid_year: the mean of its three latest years (2022-2024, two of
    them composed), drawn per iteration like a country's; the US's years without a dataset are
    the sum of its states (2010 here), whose coal share the grid holds."""
    import bw2data as bd

    run = [{"name": "run", "kind": "pretraining", "gpus": 64, "hours": 100}]
    assert main(["assess", str(site_campaign(tmp_path, "va open", {"country": "US-VA"}, run)), "--indicator", "climate"]) == 0
    assert "US-VA (Virginia), year not given (site.grid_year): the mean of the mixes of 2022, 2023, 2024" in " ".join(capsys.readouterr().out.split())
    market = bd.get_node(database="aicompute-campaign-va-open", code="grid-open")
    inputs = sorted((e.input["code"], round(e["amount"], 6)) for e in market.technosphere())
    assert inputs == [("electricity-grid-US-VA", 0.333333), ("grid-2022", 0.333333), ("grid-2024", 0.333333)]
    assert main(["assess", str(site_campaign(tmp_path, "us 2010", {"country": "US", "grid_year": 2010}, run)), "--indicator", "climate"]) == 0
    assert "generation mix of 2010 (site.grid_year; latest 2023) (EIA-923 net generation of the 50 states and DC, Ember)" in " ".join(capsys.readouterr().out.split())
    years = [r for r in rows("yearly_generation.csv") if r["year"] == "2010"]
    coal = sum(float(r["coal"]) for r in years) / sum(float(r[t]) for r in years for t in TECHS)
    grid = bd.get_node(database="aicompute-campaign-us-2010", code="grid-2010")
    assert sum(e["amount"] for e in grid.technosphere() if "coal" in e.input["name"]) == pytest.approx(coal, rel=1e-3)
    assert 0.4 < coal < 0.5  # EIA: coal 45 % of US net generation in 2010


def test_list_countries_shows_the_states_of_any_year(ready_dir, capsys):
    """`list countries --year Y` lists the 51 states in every year of their series: 2023 from
    their datasets, other years composed from the shipped generation in the same template; the
    composition of 2023 gives the datasets' own scores (two paths, one answer), and the US of a
    year without a dataset is its states' sum."""
    import bw2data as bd

    from bw_aicompute.catalog import _grid_mix_demand, countries_of_year
    from bw_aicompute.lca import demand_table
    from bw_aicompute.campaign.dates import state_years

    listed = countries_of_year(2010).set_index("key")
    assert len([k for k in listed.index if k.startswith("US-")]) == 51 and "US" in listed.index
    assert listed.loc["US", "coal_pct"] == pytest.approx(100 * sum(float(r["coal"]) for r in rows("yearly_generation.csv") if r["year"] == "2010")
                                                         / sum(float(r[t]) for r in rows("yearly_generation.csv") if r["year"] == "2010" for t in TECHS), rel=1e-6)
    for state in ("US-IA", "US-TX", "US-WA"):
        gen = state_years(state)[2023]
        demand = _grid_mix_demand(dict(gen, iso2=state, total=sum(gen.values())))
        dataset = {bd.get_node(database="aicompute-background", code=f"electricity-grid-{state}").id: 1.0}
        scores = demand_table({"composed": demand, "dataset": dataset}, ["climate", "water_consumption"])
        for indicator in ("climate", "water_consumption"):
            assert scores.loc["composed", indicator] == pytest.approx(scores.loc["dataset", indicator], rel=1e-3), (state, indicator)
    assert main(["list", "countries", "--year", "2015"]) == 0
    out = capsys.readouterr().out
    assert "US-IA" in out and "France" in out
