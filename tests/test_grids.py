"""Grid mixes composed of generation technologies: the composition is what the shares say and
water withdrawal covers consumption everywhere. (The composed GHG and water against OWID/Ember
and WRI are rows of the validation report, tested in test_validation.py.)"""

import bw2data as bd
import pytest

from bw_aicompute.conventions import sample
from bw_aicompute.inventory import tables
from bw_aicompute.lca import multi_scores
from bw_aicompute.methods import indicators

IND = indicators()
SOURCES = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo")
# the technology datasets behind each source in the mixes (cooling: 70 % tower, 30 % once-through)
TECH = {
    "coal": {"coal-tower": 0.7, "coal-once-through": 0.3},
    "gas": {"natural-gas-tower": 0.7, "natural-gas-once-through": 0.3},
    "oil": {"oil": 1.0},
    "nuclear": {"nuclear-tower": 0.7, "nuclear-once-through": 0.3},
    "hydro": {"hydro": 1.0},
    "wind": {"wind": 1.0},
    "solar": {"solar-pv": 1.0},
    "bio": {"biomass": 1.0},
    "geo": {"geothermal": 1.0},
}


@pytest.fixture(scope="module")
def grid_scores(_template):
    bd.projects.change_base_directories(_template, project_name="aicompute")
    background = {ds["code"]: ds.id for ds in bd.Database("aicompute-background")}
    demands = {code: {node: 1.0} for code, node in background.items() if code.startswith("electricity-")}
    methods = [IND[i].method for i in ("climate", "water_consumption", "water_withdrawal")]
    scores = multi_scores(demands, methods)
    return {(code, name): scores[(IND[name].method, code)] for code in demands for name in ("climate", "water_consumption", "water_withdrawal")}


def composed(row: dict, scores: dict, indicator: str) -> float:
    """The grid's indicator from the table's shares and the technologies' scores, by hand."""
    return sum(row[s] / row["total"] * share * scores[(f"electricity-{tech}", indicator)] for s in SOURCES for tech, share in TECH[s].items())


def test_every_grid_is_its_shares_of_the_technologies(grid_scores):
    t = tables()
    grids = [(f"electricity-grid-{r['iso2']}", r) for r in t["grid_countries"]]
    grids += [(f"electricity-grid-{r['state']}", r) for r in t["grid_us_states"]]
    grids += [(f"electricity-grid-{r['province']}", r) for r in t["grid_ca_provinces"]]
    grids += [("electricity-grid-GLO", t["grid_world"][0])]
    grids += [(f"electricity-grid-{r['iso2']}-{r['year']}", r) for r in t["grid_country_years"]]
    assert len(grids) == 31 + 51 + 13 + 1 + 56 + 42
    for code, row in grids:
        assert sum(row[s] for s in SOURCES) == pytest.approx(row["total"], rel=1e-3), code
        for indicator in ("climate", "water_consumption", "water_withdrawal"):
            assert grid_scores[(code, indicator)] == pytest.approx(composed(row, grid_scores, indicator), rel=1e-5), (code, indicator)


def test_withdrawal_covers_consumption_everywhere(grid_scores):
    codes = {code for code, _ in grid_scores}
    for code in codes:
        assert grid_scores[(code, "water_withdrawal")] >= grid_scores[(code, "water_consumption")] * (1 - 1e-6), code
    # and once-through cooling withdraws far more than it consumes
    assert grid_scores[("electricity-nuclear-once-through", "water_withdrawal")] > 100 * grid_scores[("electricity-nuclear-once-through", "water_consumption")]



def test_earlier_years_follow_their_own_shares(grid_scores):
    """A country's earlier year is its own mix: France's nuclear fell to 298 TWh in 2022 (reactor
    outages), so its 2022 grid emits more than its 2021 and 2023 ones; each year's composed GHG
    lies within 15 % of OWID/Ember's intensity of the same year (NOT independent: OWID derives it
    from the same shares with lifecycle factors)."""
    t = tables()
    fr = {r["year"]: grid_scores[(f"electricity-grid-FR-{r['year']}", "climate")] for r in t["grid_country_years"] if r["iso2"] == "FR"}
    fr[2023] = grid_scores[("electricity-grid-FR", "climate")]
    assert sorted(fr) == list(range(2015, 2024))
    assert fr[2022] > 1.2 * fr[2021] and fr[2022] > 1.2 * fr[2023]
    # like with like: OWID/Ember count AR5's new coal and gas plants (44.8 % and 54.6 %)
    rows = t["grid_country_years"]
    ids = [bd.get_node(database="aicompute-background", code=f"electricity-grid-{r['iso2']}-{r['year']}").id for r in rows]
    method = ("IPCC 2021", "climate change", "global warming potential (GWP100)")
    ar5 = sample(ids, [method], {"coal_plant_efficiency": 0.448, "gas_plant_efficiency": 0.546}).static[:, 0]
    old_2021 = {r["iso2"]: r["ref_ghg"] for r in rows if r["year"] == 2021}
    for r, value in zip(rows, ar5):
        # OWID's later vintage (owid/energy-data: the 2015-2020 rows) gives 2021 0.89-1.29x the
        # codecarbon vintage's intensity for the same shares (Ember's revised factors): its
        # figure is brought to the codecarbon vintage by the same country's 2021 ratio
        ref = r["ref_ghg"] * old_2021[r["iso2"]] / r["ref_2021"] if "ref_2021" in r else r["ref_ghg"]
        assert value == pytest.approx(ref, rel=0.15), (r["iso2"], r["year"])


def test_states_with_their_eia_mix_are_not_below_egrids_direct_rate(grid_scores):
    """Every state's mix is EIA's real 2023 generation (no PROXY left) and emits, over the life
    cycle, at least about what eGRID counts at the stack (lb/MWh, direct emissions): never more
    than 15 % below it."""
    rows = tables()["grid_us_states"]
    assert len(rows) == 51 and all(r["mix"] == "EIA" and "PROXY" not in r["composition"] for r in rows)
    for r in rows:
        assert r["egrid_kg"] == pytest.approx(r["egrid"] * 0.45359237 / 1000, rel=1e-3)
        assert grid_scores[(f"electricity-grid-{r['state']}", "climate")] > 0.85 * r["egrid_kg"], r["state"]
    iowa = next(r for r in rows if r["state"] == "US-IA")
    assert iowa["wind"] > 55 and iowa["nuclear"] == 0  # the real mix, not the national shares


def test_the_states_add_up_to_the_national_mix_of_the_same_year():
    """The 50 states and DC, weighted by their 2023 net generation (twh), give the US mix of 2023
    of `grid_countries` (OWID's yearly file, via codecarbon) within 0.5 percentage points per
    technology and 1 % in total. Both come from EIA's data through Ember: this checks the
    re-keying and that no state is missing or counted twice, not EIA's figures."""
    t = tables()
    us = next(r for r in t["grid_countries"] if r["iso2"] == "US")
    assert us["year"] == 2023
    states = t["grid_us_states"]
    total = sum(r["twh"] for r in states)
    assert total == pytest.approx(us["total"], rel=0.01)
    for tech in ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo"):
        share = sum(r["twh"] * r[tech] / 100 for r in states) / total
        assert share == pytest.approx(us[tech] / us["total"], abs=0.005), tech


def test_list_countries_of_the_states_year_shows_the_states(ready_dir, capsys):
    """`aicompute list countries --year 2023` lists the 50 states and DC beside the countries,
    each with its own mix (Iowa's wind, not the national shares)."""
    import json

    from bw_aicompute.cli import main

    assert main(["list", "countries", "--year", "2023", "--json", "-"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert sum(k.startswith("US-") for k in rows) == 51 and "US" in rows
    assert rows["US-IA"]["wind_pct"] > 55 and rows["US-IA"]["nuclear_pct"] == 0 and rows["US-IA"]["name"] == "Iowa"
