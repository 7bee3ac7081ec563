"""Planned grid mixes (`site.grid_scenario`): a year's generation shares by technology, composed
of the same technology datasets as the national mixes."""

from pathlib import Path

import bw2data as bd
import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.inventory import tables

EXAMPLES = Path(__file__).parents[1] / "examples"
TECHNOLOGIES = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo")


def campaign(tmp_path, name: str, country: str, scenario: dict | None, year: int | None = None) -> Path:
    site = {"country": country, **({"grid_year": year} if year else {})}
    if scenario is not None:
        (tmp_path / f"{name}_mix.yaml").write_text(yaml.safe_dump(scenario))
        site["grid_scenario"] = f"{name}_mix.yaml"  # relative to the campaign file
    doc = {"campaign": {"name": name}, "site": site, "hardware": {"gpu": "H100 SXM 80GB"},
           "phases": [{"name": "run", "kind": "pretraining", "gpu_hours": 5000}]}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_scenario_with_a_countrys_shares_is_that_countrys_grid(ready_dir, tmp_path):
    """Germany's 2023 shares written as a scenario give Germany's grid on every indicator."""
    row = next(r for r in tables()["grid_countries"] if r["iso2"] == "DE")
    shares = {t: row[t] / row["total"] for t in TECHNOLOGIES if row[t]}
    scenario = {"name": "DE as in 2023", "year": 2023, "source": "OWID shares of the inventories", "shares": shares}
    names = ["climate", "water_scarcity", "adp_minerals", "water_withdrawal"]
    national = assess(campaign(tmp_path, "de-national", "DE", None, year=2023), indicators=names).totals.set_index("indicator")["value"]
    planned = assess(campaign(tmp_path, "de-planned", "DE", scenario), indicators=names).totals.set_index("indicator")["value"]
    for name in names:
        assert planned[name] == pytest.approx(national[name], rel=1e-5), name


def test_an_all_wind_scenario_emits_wind_electricity(ready_dir, tmp_path, capsys):
    scenario = {"name": "all wind", "year": 2040, "source": "test", "shares": {"wind": 1.0}}
    path = campaign(tmp_path, "windy", "FR", scenario)
    a = assess(path, indicators=["climate", "water_consumption"])
    grid = bd.get_node(database=a.database, code="grid-scenario")
    assert [e.input["code"] for e in grid.technosphere()] == ["electricity-wind"]
    kwh = sum(e["amount"] for e in bd.get_node(database=a.database, code="datacenter-operation").technosphere()) * a.phases["it_energy_kwh"].sum()
    # IPCC AR5 onshore wind median, 11 g CO2-eq per kWh, all of the electricity stage
    assert a.by_stage().loc["electricity", "climate"] == pytest.approx(0.011 * kwh, rel=1e-5)
    # wind's life-cycle water (manufacturing), Mekonnen et al. 2015: 0.0056 L per kWh
    assert a.by_stage().loc["electricity", "water_consumption"] == pytest.approx(0.0056e-3 * kwh, rel=1e-5)
    assert main(["assess", str(path), "--indicator", "climate"]) == 0
    assert "planned mix 'all wind' (2040, site.grid_scenario windy_mix.yaml): wind 100%" in capsys.readouterr().out


@pytest.mark.parametrize("shares, problem", [
    ({"wind": 0.5}, "the shares add up to 0.5, not 1"),
    ({"wind": 0.5, "fusion": 0.5}, "fusion"),
    ({"wind": 1.5, "coal": -0.5}, "shares.coal"),
])
def test_a_bad_scenario_is_one_message(ready_dir, tmp_path, capsys, shares, problem):
    path = campaign(tmp_path, "bad", "FR", {"name": "bad", "year": 2030, "source": "test", "shares": shares})
    assert main(["assess", str(path), "--indicator", "climate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "site.grid_scenario (bad_mix.yaml)" in err and problem in err, err
    assert "aicompute-campaign-bad" not in bd.databases


def test_a_missing_scenario_file_and_a_scenario_beside_a_grid_year(ready_dir, tmp_path, capsys):
    path = campaign(tmp_path, "missing", "FR", None)
    doc = yaml.safe_load(path.read_text())
    doc["site"]["grid_scenario"] = "nowhere.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main(["assess", str(path)]) == 2
    assert "site.grid_scenario" in (err := capsys.readouterr().err) and "nowhere.yaml: grid scenario file not found" in err
    doc["site"].update(grid_scenario=str(EXAMPLES / "scenarios" / "fr_2035_illustrative.yaml"), grid_year=2022)
    path.write_text(yaml.safe_dump(doc))
    assert main(["assess", str(path)]) == 2
    assert "give one of site.grid, site.grid_year and site.grid_scenario" in capsys.readouterr().err


def test_sweep_varies_the_scenario(ready_dir, tmp_path, capsys):
    wind = {"name": "all wind", "year": 2040, "source": "test", "shares": {"wind": 1.0}}
    coal = {"name": "all coal", "year": 2040, "source": "test", "shares": {"coal": 1.0}}
    (tmp_path / "wind.yaml").write_text(yaml.safe_dump(wind))
    (tmp_path / "coal.yaml").write_text(yaml.safe_dump(coal))
    path = campaign(tmp_path, "swept", "FR", None)
    assert main(["sweep", str(path), "--vary", "site.grid_scenario=wind.yaml,coal.yaml", "--indicator", "climate", "--json", str(tmp_path / "s.json")]) == 0
    import json

    rows = json.loads((tmp_path / "s.json").read_text())["variants"]
    by = {r["site.grid_scenario"]: r["climate"] for r in rows}
    assert by["coal.yaml"] > 5 * by["wind.yaml"]
