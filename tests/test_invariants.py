"""Physical invariants on every dataset and on every campaign path, with generated campaigns.

For every inventory (a dataset, or a campaign written by any path: its own site grid, a grid
given by the study, a planned mix, an earlier year, a month's mix, an hourly intensity, a
contract, serving, a linked background, a sweep, a comparison, the time-explicit copy):

- every indicator is finite and not negative (no flow is a credit in these inventories);
- the water tagged with a place (location flows) never exceeds the water consumed, so no place's
  correction is counted twice, and `water_scarcity` per m3 consumed lies between the smallest and
  the largest AWARE factor of the places involved (the world factor for untagged water);
- withdrawal covers consumption;
- every dataset carries every flow family it physically has (GHG, water, primary energy,
  minerals), direct process emissions excepted;
- a thermal plant's primary energy is at least 3.6 MJ / its efficiency, the efficiency within
  the published range of fleets, and its fuel's energy what the efficiency burns.

Campaigns are generated with Hypothesis (derandomized: the same examples on every machine).
"""

import math
from pathlib import Path

import bw2calc as bc
import bw2data as bd
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bw_aicompute.assessment import assess
from bw_aicompute.methods import resolve_indicator
from bw_aicompute.water import LOCATED_DB, places, world_cf

EXAMPLES = Path(__file__).parents[1] / "examples"
INDICATORS = ["climate", "water", "adp_minerals", "water_scarcity", "water_consumption", "water_withdrawal", "energy", "adp_fossil"]
# the published range of fleet efficiencies (net, LHV): IEA/CIAB 2010 (world coal 32.6 %), EIA
# Electric Power Annual Table 8.1, CEC, EU ETS / ENTSO-E (see inventories/electricity.yaml)
EFFICIENCY = {
    "coal": ("coal_plant_efficiency", "electricity-coal-tower", 0.27, 0.47),
    "gas": ("gas_plant_efficiency", "electricity-natural-gas-tower", 0.33, 0.60),
    "oil": ("oil_plant_efficiency", "electricity-oil", 0.27, 0.42),
    "nuclear": ("nuclear_plant_efficiency", "electricity-nuclear-tower", 0.30, 0.37),
}
settings.register_profile("invariants", derandomize=True, deadline=None, max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def methods() -> dict[str, tuple]:
    return {name: resolve_indicator(name).method for name in INDICATORS}


def water_flows() -> tuple[set[int], dict[int, str]]:
    """Ids of the `Water` to air flows, and location flow id -> its place, in this project."""
    from bw2data.backends import ActivityDataset as AD

    to_air = {i for i, data in AD.select(AD.id, AD.data).where(AD.name == "Water", AD.type == "emission").tuples() if tuple(data.get("categories") or ())[:1] == ("air",)}
    located = {i: loc for i, loc in AD.select(AD.id, AD.location).where(AD.database == LOCATED_DB).tuples()}
    return to_air, located


def water_balance(node_id: int) -> dict:
    """The located and untagged water of one unit of a node's supply chain: total water to air
    (m3), the volume tagged per place, and the place's AWARE factor."""
    from scipy.sparse.linalg import splu

    lca = bc.LCA({node_id: 1.0})
    lca.load_lci_data()
    lca.build_demand_array()
    totals = lca.biosphere_matrix @ splu(lca.technosphere_matrix.tocsc()).solve(lca.demand_array)
    factors = {p.location: p.cf for p in places().values()}
    to_air, located = water_flows()
    rows = lca.dicts.biosphere
    water = float(sum(totals[rows[i]] for i in to_air if i in rows))
    tagged: dict[str, float] = {}
    for i, place in located.items():
        if i in rows and totals[rows[i]]:
            tagged[place] = tagged.get(place, 0.0) + float(totals[rows[i]])
    return {"water": water, "tagged": tagged, "factors": {p: factors[p] for p in tagged}}


def check_node(node_id: int, scores: dict[str, float], what: str) -> None:
    """The invariants of one inventory, from its scores and its water balance."""
    scale = max(abs(v) for v in scores.values()) or 1.0
    for name, value in scores.items():
        assert math.isfinite(value), (what, name)
        assert value >= -1e-12 * scale, (what, name, value)
    assert scores["water_withdrawal"] >= scores["water_consumption"] * (1 - 1e-5), what
    b = water_balance(node_id)
    located = sum(b["tagged"].values())
    assert located <= b["water"] * (1 + 1e-5) + 1e-15, (what, "water tagged twice", located, b["water"])
    if b["water"] <= 0:
        return
    involved = list(b["factors"].values()) + ([world_cf()] if located < b["water"] * (1 - 1e-6) else [])
    per_m3 = scores["water_scarcity"] / scores["water_consumption"]
    assert min(involved) * (1 - 1e-4) <= per_m3 <= max(involved) * (1 + 1e-4), (what, per_m3, b["factors"])


def score_nodes(nodes: dict[str, object]) -> dict[str, dict[str, float]]:
    from bw_aicompute.lca import multi_scores

    m = methods()
    raw = multi_scores({k: {n.id: 1.0} for k, n in nodes.items()}, list(m.values()))
    return {k: {name: raw[(method, k)] for name, method in m.items()} for k in nodes}


def check_campaign(a, what: str) -> None:
    """Invariants of an assessed campaign: its totals and stages, and its inventory."""
    totals = a.totals.set_index("indicator")["value"]
    by_stage = a.by_stage()
    for name in totals.index:
        assert math.isfinite(totals[name]) and totals[name] >= 0, (what, name, totals[name])
        assert (by_stage[name] >= -1e-9 * abs(totals[name])).all(), (what, name)
    node = bd.get_node(database=a.database, code=a.model.key[1])
    check_node(node.id, totals.to_dict(), what)


def test_every_dataset_is_physical(ready_dir):
    """Every dataset of the open background and of the foreground, on every default indicator."""
    nodes = {f"{ds['database']}|{ds['code']}": ds for db in ("aicompute-background", "aicompute") for ds in bd.Database(db)}
    scores = score_nodes(nodes)
    families = ("climate", "water_consumption", "energy", "adp_minerals")
    missing = []
    for key, node in nodes.items():
        s = scores[key]
        scale = {name: max(abs(v[name]) for v in scores.values()) for name in s}
        assert all(math.isfinite(v) and v >= -1e-12 * scale[n] for n, v in s.items()), key
        assert s["water_withdrawal"] >= s["water_consumption"] * (1 - 1e-5), key
        direct = node["code"].startswith("fab-direct-emissions")  # process gases only, by definition
        missing += [(key, f) for f in families if s[f] <= 1e-12 * scale[f] and not direct]
    assert missing == []
    # the water of every grid mix and datacentre operation is tagged once, with its place
    for key in [k for k in nodes if "electricity-grid-" in k or "datacenter-operation-" in k][::7]:
        check_node(nodes[key].id, scores[key], key)


def test_thermal_plants_burn_what_their_efficiency_says(ready_dir):
    from bw2data.parameters import DatabaseParameter

    nodes = {tech: bd.get_node(database="aicompute-background", code=code) for tech, (_, code, _, _) in EFFICIENCY.items()}
    scores = score_nodes(nodes)
    for tech, (param, _, lo, hi) in EFFICIENCY.items():
        eta = DatabaseParameter.get(database="aicompute-background", name=param).amount
        assert lo <= eta <= hi, tech
        assert scores[tech]["energy"] >= 3.6 / eta * (1 - 1e-6), tech
        # the fuel's energy at its flow's net value in EF v3.1 is what the plant burns
        assert scores[tech]["adp_fossil"] == pytest.approx(3.6 / eta, rel=1e-5), tech


COUNTRIES = ["FR", "US", "US-AZ", "DE", "NO", "CN", "BR", "IN", "SE"]
GPUS = ["H100 SXM 80GB", "A100 SXM4 80GB", "B200", "L4", "MI300X"]


@st.composite
def campaigns(draw):
    """A campaign file: a site (country, grid given or planned or of a year, contract), the
    hardware (embodied given for some indicators or bottom-up), one to three phases."""
    country = draw(st.sampled_from(COUNTRIES))
    site: dict = {"country": country}
    grid = draw(st.sampled_from(["own", "given", "given with water", "scenario", "year"]))
    if grid == "given":
        site["grid"] = {"kg_co2e_per_kwh": draw(st.floats(0.01, 1.2)), "source": "generated"}
    elif grid == "given with water":
        site["grid"] = {"kg_co2e_per_kwh": draw(st.floats(0.01, 1.2)), "water_l_per_kwh": draw(st.floats(0.0, 10.0)), "source": "generated"}
    elif grid == "scenario":
        wind = draw(st.floats(0.0, 1.0))
        site["grid_scenario"] = {"name": "generated", "year": 2035, "source": "generated", "shares": {"wind": wind, "gas": 1.0 - wind}}
    elif grid == "year" and country in ("FR", "US", "DE", "CN"):
        site["grid_year"] = draw(st.sampled_from([2021, 2022]))
    if draw(st.booleans()):
        site["electricity_contract"] = {"type": "ppa", "technology": draw(st.sampled_from(["wind", "hydro", "coal", "nuclear"])), "share": draw(st.floats(0.1, 1.0)), "source": "generated"}
    hardware: dict = {"gpu": draw(st.sampled_from(GPUS))}
    override = draw(st.sampled_from([None, "climate", "climate and water", "all"]))
    if override:
        o = {"kg_co2e": draw(st.floats(10, 3000)), "source": "generated"}
        if override != "climate":
            o["water_m3"] = draw(st.floats(0.0, 50.0))
        if override == "all":
            o["kg_sb_eq"] = draw(st.floats(0.0, 0.5))
        hardware[draw(st.sampled_from(["gpu_embodied", "server_embodied"]))] = o
    phases = [{"name": f"p{i}", "kind": draw(st.sampled_from(["pretraining", "ablation", "debugging", "idle reservation"])), "gpu_hours": draw(st.floats(1.0, 1e6))}
              for i in range(draw(st.integers(1, 3)))]
    return {"campaign": {"name": "generated"}, "site": site, "hardware": hardware, "phases": phases}


def write(tmp_path: Path, doc: dict) -> Path:
    site = doc["site"]
    if isinstance(site.get("grid_scenario"), dict):
        (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(site["grid_scenario"]))
        site = {**site, "grid_scenario": "scenario.yaml"}
    path = tmp_path / "generated.yaml"
    path.write_text(yaml.safe_dump({**doc, "site": site}))
    return path


@settings(settings.get_profile("invariants"))
@given(doc=campaigns())
def test_generated_campaigns_are_physical(ready_dir, tmp_path, doc):
    a = assess(write(tmp_path, doc), indicators=INDICATORS, replace=True)
    check_campaign(a, str(doc))
    if a.market_based is not None:
        assert (a.market_based["value"] >= -1e-9 * a.market_based["location_based"].abs()).all(), doc
        ws = a.market_based.set_index("indicator")["value"]
        assert ws["water_scarcity"] <= ws["water_consumption"] * max(p.cf for p in places().values()) * (1 + 1e-6)


def test_monte_carlo_draws_are_physical(ready_dir):
    """The 2.5 % quantile of every indicator is not negative (the grids' water tags follow the
    hydropower parameter's draws), a US site drawing its state included."""
    for name in ("moshi_like.yaml", "llama2_defaults.yaml"):
        a = assess(EXAMPLES / name, indicators=INDICATORS, iterations=250, seed=5)
        assert (a.uncertainty.totals >= 0).all(), name
        ws, wc = (a.uncertainty.totals[:, a.uncertainty.labels.index(k)] for k in ("water_scarcity", "water_consumption"))
        factors = [p.cf for p in places().values()] + [world_cf()]
        assert (ws <= wc * max(factors) * (1 + 1e-6)).all() and (ws >= wc * min(factors) * (1 - 1e-6)).all(), name


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_shipped_example_is_physical(ready_dir, example):
    check_campaign(assess(EXAMPLES / example, indicators=INDICATORS), example)


def dated(tmp_path: Path) -> Path:
    """A phase in a month whose mix is all hydropower (its water tagged with the country) and an
    undated phase."""
    months = tmp_path / "months.csv"
    techs = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo")
    months.write_text("month," + ",".join(techs) + "\n2024-01," + ",".join("40" if t == "hydro" else "0" for t in techs) + "\n")
    doc = {"campaign": {"name": "dated"}, "site": {"country": "FR", "monthly_mix": "months.csv"}, "hardware": {"gpu": "H100 SXM 80GB"},
           "phases": [{"name": "january", "kind": "pretraining", "gpu_hours": 5000, "start": "2024-01", "end": "2024-02"},
                      {"name": "undated", "kind": "debugging", "gpu_hours": 300}]}
    path = tmp_path / "dated.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_dated_hourly_serving_sweep_compare_and_timex_paths_are_physical(ready_dir, tmp_path):
    """A month's mix, an hourly intensity weighting a power log, serving, a sweep over places
    (each variant's water at its own factors), a comparison and the time-explicit copy."""
    from test_hourly import write_inputs

    from bw_aicompute.comparison import compare
    from bw_aicompute.sweeps import sweep

    check_campaign(assess(dated(tmp_path), indicators=INDICATORS), "dated")
    (tmp_path / "hourly").mkdir()
    check_campaign(assess(write_inputs(tmp_path / "hourly"), indicators=INDICATORS), "hourly")
    check_campaign(assess(EXAMPLES / "moshi_like_serving.yaml", indicators=INDICATORS), "serving")
    s = sweep([EXAMPLES / "moshi_like.yaml"], ["site.country=US-AZ,NO,IN"], indicators=["water_scarcity", "water_consumption", "climate"])
    factors = [p.cf for p in places().values()] + [world_cf()]
    assert (s.table["water_scarcity"] / s.table["water_consumption"]).between(min(factors), max(factors)).all()
    assert (s.table[["water_scarcity", "water_consumption", "climate"]] >= 0).all().all()
    c = compare([EXAMPLES / "moshi_like.yaml", EXAMPLES / "moshi_like_b200.yaml"], indicators=["climate", "water_scarcity"])
    values = c.table[[k for k in c.labels]]
    assert (values.to_numpy() >= 0).all()
    t = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"], timex=True).timex
    assert t.static_score >= 0 and t.dynamic_gwp >= 0 and (t.by_year["emissions_kg_co2e"] >= 0).all()


def test_campaign_against_a_linked_background_is_physical(ready_dir):
    """The foreground linked to a (stub) ecoinvent: its grid water gets the world factor, the
    site's on-site water keeps its place; nothing negative, no water tagged twice."""
    from test_ecoinvent import EI, build_stub

    from bw_aicompute.cli import main

    build_stub()
    assert main(["link-ecoinvent", "--database", EI]) == 0
    check_campaign(assess(EXAMPLES / "moshi_like.yaml", indicators=INDICATORS, background="ecoinvent"), "linked")

