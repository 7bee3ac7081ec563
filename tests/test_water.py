"""Regionalised water scarcity (AWARE 2.0): water consumed at a place scores with that place's
factor, in plain bw2calc, and totals equal a hand computation from the inventory."""

from pathlib import Path

import bw2calc as bc
import bw2data as bd
import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.methods import resolve_indicator
from bw_aicompute.water import LOCATED_DB, places, world_cf

EXAMPLES = Path(__file__).parents[1] / "examples"
# AWARE 2.0 non-agricultural yearly factors as published (WULCA, J. Ind. Ecol. 2025), read in the
# edges 1.5.0 file by the reference notes (data_sources.md 6.3), m3 world-eq per m3
PUBLISHED = {"FR": 4.99, "NO": 0.744, "US": 11.3, "IN": 37.9}
# AWARE 2.0 all-uses yearly factors of states without a published non-agricultural one (IMPACT
# World+ 2.1's copy in edges 1.5.0, identical to AWARE 2.0's all-uses file where both exist)
ALL_USES = {"US-AZ": 98.6, "US-NV": 42.7, "US-TX": 16.8, "US-VA": 1.8}
NON_AGRICULTURAL_SHARE = 0.906  # median ratio over the 15 states with both factors


def factor(value: float) -> object:
    """A factor compared to 1e-6 of the world factor: the location's factor is stored as the
    world factor plus a (float32) difference of that magnitude."""
    return pytest.approx(value, rel=1e-6, abs=1e-6 * world_cf())


def only_site_water(tmp_path, country: str) -> Path:
    """A campaign whose every m3 of water is consumed at its site or by its grid: hardware
    footprints given with no water, no building."""
    doc = {
        "campaign": {"name": f"water {country}"},
        "site": {"country": country, "wue_l_per_kwh": 1.8},
        "hardware": {"gpu": "H100 SXM 80GB", "gpu_embodied": {"kg_co2e": 150, "water_m3": 0, "source": "test"},
                     "server_embodied": {"kg_co2e": 2500, "water_m3": 0, "source": "test"}, "datacenter_infrastructure": False,
                     "switches_per_gpu": 0, "storage_tb_per_gpu": 0},
        "phases": [{"name": "run", "kind": "pretraining", "gpu_hours": 10_000}],
    }
    path = tmp_path / f"water_{country}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_water_scarcity_per_m3_is_the_factor_of_the_place(ready_dir, tmp_path):
    per_m3 = {}
    for country in ("FR", "US-AZ", "NO", "US-CA"):
        a = assess(only_site_water(tmp_path, country), indicators=["water_scarcity", "water_consumption", "water"])
        totals = a.totals.set_index("indicator")["value"]
        per_m3[country] = totals["water_scarcity"] / totals["water_consumption"]
        # EF v3.1's global factor is unchanged beside it
        assert totals["water"] / totals["water_consumption"] == pytest.approx(42.95, rel=1e-6)
    assert per_m3["FR"] == factor(PUBLISHED["FR"])
    assert per_m3["NO"] == factor(PUBLISHED["NO"])
    # Arizona: no published non-agricultural factor; the all-uses one times the states' median
    # ratio, said as an estimate (it was the US factor, 11.3, before)
    assert per_m3["US-AZ"] == pytest.approx(ALL_USES["US-AZ"] * NON_AGRICULTURAL_SHARE, rel=2e-3)
    assert places()["US-AZ"].note.startswith("ESTIMATE") and not places()["US-CA"].note
    assert per_m3["US-CA"] == factor(places()["US-CA"].cf) and per_m3["US-AZ"] > 2 * per_m3["US-CA"]
    # the ratios of the places' factors (to 1e-6 of the world factor over the smaller one)
    assert per_m3["FR"] / per_m3["NO"] == pytest.approx(PUBLISHED["FR"] / PUBLISHED["NO"], rel=2e-6 * world_cf() / PUBLISHED["NO"])
    assert per_m3["US-CA"] / per_m3["FR"] == pytest.approx(places()["US-CA"].cf / PUBLISHED["FR"], rel=2e-6 * world_cf() / PUBLISHED["FR"])


def test_every_state_and_dc_has_its_own_factor():
    """No state falls back to the US factor: the published non-agricultural factor, or the
    all-uses one times the median ratio (an ESTIMATE, flagged)."""
    from bw_aicompute.inventory import tables

    states = [r["state"] for r in tables()["grid_us_states"]]
    assert len(states) == 51
    for state in states:
        p = places()[state]
        assert p.aware == state and "FALLBACK" not in (p.note or ""), state
        if state in ALL_USES:
            assert p.cf == pytest.approx(ALL_USES[state] * NON_AGRICULTURAL_SHARE, rel=2e-3) and p.note.startswith("ESTIMATE")


def located_by_hand(lca: bc.LCA) -> dict[str, float]:
    """m3 of water consumed per place, from the inventory without the location flows: each
    grid mix's supply x its technologies' `Water` to air, each datacentre's supply x its own."""
    water_air = {f.id for f in bd.Database("biosphere3") if f["name"] == "Water" and f["categories"][0] == "air"}

    def own_water(node) -> float:
        return sum(e["amount"] for e in node.biosphere() if e.input.id in water_air)

    out: dict[str, float] = {}
    for node_id, col in lca.dicts.activity.items():
        node = bd.get_node(id=node_id)
        supply = float(lca.supply_array[col])
        if not supply or not (node.get("located_water") or node["code"] == "datacenter-operation") or node["location"] == "GLO":
            continue
        water = own_water(node) + sum(e["amount"] * own_water(e.input) for e in node.technosphere() if not e.input.get("located_water"))
        out[node["location"]] = out.get(node["location"], 0.0) + supply * water
    return out


def test_totals_equal_a_hand_computation(ready_dir):
    """moshi_like in FR: its water in FR (grid and site), in TW (the fabs' electricity) and
    elsewhere, each times its own factor, equals the solved water_scarcity."""
    a = assess(EXAMPLES / "moshi_like.yaml", indicators=["water_scarcity", "water_consumption"])
    totals = a.totals.set_index("indicator")["value"]
    fu = bd.get_node(database=a.database, code="campaign")
    lca = bc.LCA({fu: 1}, resolve_indicator("water_consumption").method)
    lca.lci()
    lca.lcia()
    assert lca.score == pytest.approx(totals["water_consumption"], rel=1e-6)
    located = located_by_hand(lca)
    assert set(located) >= {"FR", "TW"}
    table = places()
    hand = sum(table[loc].cf * m3 for loc, m3 in located.items()) + world_cf() * (lca.score - sum(located.values()))
    assert totals["water_scarcity"] == pytest.approx(hand, rel=1e-5)
    # most of it is French (4.99), so the regionalised score is far below the world factor's
    assert totals["water_scarcity"] < 0.5 * world_cf() * lca.score


def test_location_flows_are_tags_that_other_methods_ignore(ready_dir):
    flows = list(bd.Database(LOCATED_DB))
    assert len(flows) == len(places()) and all(f["type"] == "emission" for f in flows)
    ids = {f.id for f in flows}
    for name in ("water", "water_consumption", "water_withdrawal", "climate"):
        rows = bd.Method(resolve_indicator(name).method).load()
        assert not ids & {r[0] if isinstance(r[0], int) else bd.get_id(r[0]) for r in rows}, name
    scarcity = dict((bd.get_id(k) if not isinstance(k, int) else k, v) for k, v in bd.Method(resolve_indicator("water_scarcity").method).load())
    fr = next(f for f in flows if f["location"] == "FR")
    assert scarcity[fr.id] + world_cf() == factor(PUBLISHED["FR"])
    # a grid's location flow is its technologies' water, at the generation shares
    grid = bd.get_node(database="aicompute-background", code="electricity-grid-IN")
    tag = next(e for e in grid.biosphere() if e.input["database"] == LOCATED_DB)
    water = sum(e["amount"] * sum(b["amount"] for b in e.input.biosphere() if b.input["name"] == "Water" and b.input["categories"][0] == "air") for e in grid.technosphere())
    assert tag["amount"] == pytest.approx(water, rel=1e-6) and tag.input["location"] == "IN"
    assert scarcity[tag.input.id] + world_cf() == factor(PUBLISHED["IN"])


def test_the_report_and_json_say_which_factor_and_its_fallback(ready_dir, tmp_path, capsys):
    import json

    from bw_aicompute.cli import main

    path = only_site_water(tmp_path, "US-AZ")
    out = tmp_path / "az.json"
    assert main(["assess", str(path), "--indicator", "water_scarcity", "--json", str(out)]) == 0
    assert "water scarcity factor (AWARE 2.0, water_scarcity): US-AZ 89.3 m3 world-eq per m3; ESTIMATE: AWARE 2.0 all-uses" in capsys.readouterr().out
    place = json.loads(out.read_text())["water_scarcity_place"]
    assert place["aware_location"] == "US-AZ" and place["note"].startswith("ESTIMATE") and place["cf"] == pytest.approx(89.3)
