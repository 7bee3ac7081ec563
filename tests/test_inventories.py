"""The open inventories: every dataset solves, indicators come out as the sources state, the GPU
card model matches the measured cards, a GPU-hour equals its hand calculation, parameters can be
changed in Brightway, and the loader rejects bad data with a clear message."""

import csv
import math
import re
import textwrap
from collections import defaultdict
from pathlib import Path

import bw2calc as bc
import bw2data as bd
import pytest
from bw2data.parameters import DatabaseParameter

import bw_aicompute.inventory as inventory_mod
import bw_aicompute.inventory.writer as install_mod
from bw_aicompute import AicomputeError, setup_project
from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.lca import multi_scores
from bw_aicompute.ownership import OWNER_KEY
from bw_aicompute.methods import indicators
from bw_aicompute.project import flow_index

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[1]
IND = indicators()


def node(code, db="aicompute"):
    return bd.get_node(database=db, code=code)


def score(code, indicator="climate", db="aicompute"):
    lca = bc.LCA({node(code, db): 1}, IND[indicator].method)
    lca.lci()
    lca.lcia()
    return lca.score


def test_databases_installed_and_marked(ready_dir):
    for name in ("aicompute-background", "aicompute"):
        assert bd.databases[name][OWNER_KEY]["state"] == "complete"
    assert len(bd.Database("aicompute-background")) >= 140
    assert len(bd.Database("aicompute")) >= 400
    # the open background links only to itself: grid mixes are technosphere mixes of its
    # generation technologies, memory per GB uses its memory die
    for ds in bd.Database("aicompute-background"):
        kinds = {e["type"] for e in ds.exchanges()}
        if ds["code"].startswith("electricity-grid-"):
            # a mix's only elementary flow is the location flow of its technologies' water
            assert kinds <= {"production", "technosphere", "biosphere"}, ds["code"]
            assert {e.input["database"] for e in ds.technosphere()} == {"aicompute-background"}
            assert {e.input["database"] for e in ds.biosphere()} <= {"aicompute-water-locations"}, ds["code"]
        else:
            assert kinds <= {"production", "biosphere", "technosphere"}, ds["code"]
            assert {e.input["database"] for e in ds.technosphere()} <= {"aicompute-background"}


ALL = ("climate", "water_consumption", "water_withdrawal", "water", "adp_minerals", "adp_fossil", "energy")


def not_carried(comment: str) -> set[str]:
    """Indicators a dataset's comment declares it does not carry: 'Not carried: name, name
    (reason)' or '... (name), ...'; a name counts only in such a list, not in running text."""
    if "Not carried:" not in comment:
        return set()
    text = comment.split("Not carried:", 1)[1]
    return {name for name in ALL if re.search(rf"\b{name}(?=,|\)| \()", text)}


def documented(ds, indicator: str, memo: dict) -> bool:
    """A zero is documented in the dataset's comment, or the dataset only mixes suppliers (no
    biosphere exchange of its own with a nonzero amount) whose zeros are all documented."""
    key = (ds.id, indicator)
    if key not in memo:
        memo[key] = False
        own = indicator in not_carried(ds.get("comment", ""))
        suppliers = [e.input for e in ds.technosphere() if e["amount"]]
        memo[key] = own or bool(suppliers) and all(documented(s, indicator, memo) for s in suppliers)
    return memo[key]


def test_every_dataset_solves_and_carries_every_flow_family(ready_dir):
    """Every dataset scores on all seven indicators; a zero is allowed only with its reason in
    the dataset's comment (or in the comments of all it is made of)."""
    nodes = [ds for db in ("aicompute-background", "aicompute") for ds in bd.Database(db)]
    demands = {f"{ds['database']}|{ds['code']}": {ds.id: 1.0} for ds in nodes}
    methods = {i: IND[i].method for i in ALL}
    scores = multi_scores(demands, list(methods.values()))
    memo, undocumented = {}, []
    # round-off of a solve is relative: a "zero" is below 1e-12 of the largest score of its method
    tiny = {i: 1e-12 * max(abs(scores[(m, key)]) for key in demands) for i, m in methods.items()}
    for ds, key in zip(nodes, demands):
        climate = scores[(methods["climate"], key)]
        assert math.isfinite(climate) and climate > 0, key
        consumption, withdrawal = scores[(methods["water_consumption"], key)], scores[(methods["water_withdrawal"], key)]
        assert consumption >= -tiny["water_consumption"] and withdrawal >= consumption * (1 - 1e-5) - tiny["water_withdrawal"], key
        assert scores[(methods["adp_minerals"], key)] >= -tiny["adp_minerals"], key
        for indicator in ALL:
            if abs(scores[(methods[indicator], key)]) <= tiny[indicator] and not documented(ds, indicator, memo):
                undocumented.append((key, indicator))
    assert undocumented == []


def test_at_least_30_countries_and_technologies(ready_dir):
    grids = {ds["location"] for ds in bd.Database("aicompute-background") if ds["code"].startswith("electricity-grid-")}
    assert len({g for g in grids if len(g) == 2}) >= 30 and "GLO" in grids
    assert {"US-TX", "US-VA", "US-IA", "US-OR", "CA-QC"} <= grids
    techs = {ds["code"] for ds in bd.Database("aicompute-background") if ds["code"].startswith("electricity-") and "grid" not in ds["code"]}
    expected = ("coal-tower", "coal-once-through", "natural-gas-tower", "oil", "nuclear-tower", "hydro", "wind", "solar-pv", "biomass", "geothermal")
    assert {f"electricity-{t}" for t in expected} <= techs
    # the coal burnt at the fleet's 37 % (IPCC 2006 factor), AR5's supply chain scaled with it,
    # methane at GWP100 29.8 instead of AR5's 28
    scale = 0.448 / 0.37
    coal = 3.6 / 0.37 * 0.0946 + 0.047 / 28 * scale * 29.8 + (0.820 - 0.760 - 0.047) * scale
    assert score("electricity-coal-tower", db="aicompute-background") == pytest.approx(coal, rel=1e-6)
    # the gross reservoir evaporation (Macknick) x the share attributable to power
    assert score("electricity-hydro", "water_consumption", db="aicompute-background") == pytest.approx(4491 * 3.785e-6 * 0.35, rel=1e-6)
    assert score("electricity-coal-once-through", "water_withdrawal", db="aicompute-background") == pytest.approx(36350 * 3.785e-6, rel=1e-6)


def measured_cards(without_memory: bool = False):
    """Manufacturing GWP per card in the ADEME/Hubblo measured table (sum of component rows),
    optionally without its video_ram row."""
    totals = defaultdict(float)
    with open(DATA / "gpus_impact_factors.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["graphics_card"] != "Average" and row["manufacturing_GWP"]:
                if not (without_memory and row["component"] == "video_ram"):
                    totals[row["graphics_card"]] += float(row["manufacturing_GWP"])
    return totals


# ADEME/Hubblo label -> our dataset. The card labelled "H100 PCIe 80GB" there has the H100 SXM
# spec (1.69 kg, 296 cm2; data_sources.md 2.1), so it is compared with our H100 SXM model.
MEASURED = {
    "NVIDIA H100 PCIe 80GB": "h100_sxm_80gb",
    "NVIDIA A100 SXM4 40GB": "a100_sxm4_40gb",
    "NVIDIA A100 PCIe 40GB": "a100_pcie_40gb",
    "NVIDIA L4": "l4",
    "NVIDIA GH200": "gh200",
}


# The A100s' 7 nm die (ACT fab energy at the composed Taiwan grid, 11 % below OWID's figure) is
# 25-30 % below the measured A100 dies, so their cards without memory are 16 % and 21 % low.
TOLERANCE = {"NVIDIA A100 SXM4 40GB": 0.25, "NVIDIA A100 PCIe 40GB": 0.25}


@pytest.mark.parametrize("label", sorted(MEASURED))
def test_gpu_card_model_without_memory_within_15_percent_of_measured(ready_dir, label):
    """Die, board, thermal parts and transport against the measured cards, without their memory
    (the HBM per GB is calibrated on the measured H100's; the validation report lists the whole
    cards)."""
    gpu = MEASURED[label]
    gb = DatabaseParameter.get(database="aicompute", name=f"{gpu}_memory_gb").amount
    memory = "gddr6-memory-gb" if gpu == "l4" else "hbm-memory-gb"
    modelled = score(f"gpu-card-{gpu}-gate") - gb * score(memory, db="aicompute-background")
    measured = measured_cards(without_memory=True)[label]
    assert measured > 20
    assert modelled == pytest.approx(measured, rel=TOLERANCE.get(label, 0.15)), (label, modelled, measured)


def test_memory_of_cards_and_servers_on_one_basis(ready_dir):
    """HBM, GDDR6, DDR5 and NAND are die area x the same memory-die factor: per cm2 of die they
    score the same on every indicator (the DDR5 module and SSD drive bases aside)."""
    die = {i: score("memory-die-cm2", i, db="aicompute-background") for i in ("climate", "water", "adp_minerals", "adp_fossil")}
    # GB per cm2 of die: GDDR6 at the mean crowdsourced density; HBM at the density that gives the
    # measured H100 HBM (0.748 kg/GB), DDR5 and NAND at those of the manufacturers' per-GB figures
    for code, gb_per_cm2 in (("hbm-memory-gb", 2.20 * 80 / 59.8), ("gddr6-memory-gb", 1.244)):
        for indicator, per_cm2 in die.items():
            assert score(code, indicator, db="aicompute-background") * gb_per_cm2 == pytest.approx(per_cm2, rel=1e-5)
    assert score("dram-ddr5-gb", db="aicompute-background") == pytest.approx(1.65, rel=1e-5)  # Dell LCA of DDR5 RDIMMs
    assert score("nand-ssd-gb", db="aicompute-background") == pytest.approx(0.0169, rel=1e-5)  # median of manufacturers'
    assert 0.625 < 2.20 / (1.65 - 5.22 / 64) < 2.375  # the DDR5 density inside the crowdsourced range


def test_every_measured_card_of_our_list_is_checked():
    ours = {"A100 SXM4 40GB", "A100 SXM4 80GB", "A100 PCIe 40GB", "A100 PCIe 80GB", "H100 SXM 80GB", "H100 PCIe 80GB", "H100 NVL 94GB", "H200 SXM 141GB",
            "B200", "GH200", "MI300X", "MI250X", "L4", "L40S", "V100 SXM2 32GB", "V100 PCIe 32GB"}
    in_file = {name.removeprefix("NVIDIA ") for name in measured_cards()}
    assert {n for n in in_file if n in ours} | {"H100 PCIe 80GB"} <= {k.removeprefix("NVIDIA ") for k in MEASURED}


def test_effective_die_area_reproduces_boavizta(ready_dir):
    def param(name):
        return DatabaseParameter.get(database="aicompute", name=name).amount

    assert param("gh100_eff_mm2") == pytest.approx(2808.45, rel=1e-5)
    assert param("ga100_eff_mm2") == pytest.approx(2876.29, rel=1e-5)
    assert param("gv100_eff_mm2") == pytest.approx(2814.07, rel=1e-5)  # V100 (Boavizta gpu_specs.csv)
    assert param("ad102_eff_mm2") == pytest.approx(1773.22, rel=1e-3)  # L40S


def test_gpu_hour_equals_hand_calculation(ready_dir):
    """GPU-hour, H100 SXM 80GB, FR from its parameters, written out independently."""
    tdp, load, share, pue = 700, 0.87, 0.43, 1.16
    life_h, util = 5.75 * 8760, 0.85
    it_kwh = tdp * load * (1 + share) / 1000
    fr_grid = score("electricity-grid-FR", db="aicompute-background")
    electricity = it_kwh * pue * fr_grid
    card = score("gpu-card-h100_sxm_80gb") / (life_h * util)
    server = score("server-dgx_h100") / (8 * life_h * util)
    switch = score("network-switch") * (3 / 64) / (life_h * util)
    storage = score("storage-tb-year") * 2 / (8760 * util)
    infra = score("datacenter-infrastructure-kw-year") * tdp * (1 + share) / 1000 / (8760 * util)
    expected = electricity + card + server + switch + storage + infra
    assert score("gpu-hour-h100_sxm_80gb-FR") == pytest.approx(expected, rel=1e-5)
    # and the electricity part dominates in neither direction absurdly
    assert 0.5 < electricity / expected < 0.95

    # water consumed: on site (LBNL WUE 66e9 L / 176e9 kWh, consumption) + grid
    onsite = it_kwh * (66 / 176) / 1000
    grid = it_kwh * pue * score("electricity-grid-FR", "water_consumption", db="aicompute-background")
    embodied_w = (
        score("gpu-card-h100_sxm_80gb", "water_consumption") / (life_h * util)
        + score("server-dgx_h100", "water_consumption") / (8 * life_h * util)
        + score("network-switch", "water_consumption") * (3 / 64) / (life_h * util)
        + score("storage-tb-year", "water_consumption") * 2 / (8760 * util)
        + score("datacenter-infrastructure-kw-year", "water_consumption") * tdp * (1 + share) / 1000 / (8760 * util)
    )
    assert score("gpu-hour-h100_sxm_80gb-FR", "water_consumption") == pytest.approx(onsite + grid + embodied_w, rel=1e-5)


def test_default_h100_gpu_hour_inside_the_measured_envelope(ready_dir):
    """The facility energy of a default H100 GPU-hour (the grid electricity it draws, solved)
    lies inside the envelope of the measured evidence (inventories/validation/power.yaml), and
    its IT power within 15 % of the H100 node measured in training (Newkirk et al. 2025), a
    figure kept out of the calibration."""
    import yaml

    evidence = yaml.safe_load((ROOT / "inventories" / "validation" / "power.yaml").read_text())
    measured = next(e for e in evidence["node_it_power_w_per_gpu"] if e["use"] == "check")
    lca = bc.LCA({node("gpu-hour-h100_sxm_80gb-GLO"): 1}, IND["climate"].method)
    lca.lci()
    facility_kwh = float(lca.supply_array[lca.dicts.activity[node("electricity-grid-GLO", "aicompute-background").id]])
    it_kwh = float(lca.supply_array[lca.dicts.activity[node("datacenter-operation-GLO").id]])
    envelope = evidence["envelope_kwh_per_h100_gpu_hour"]
    assert envelope["minimum"] < facility_kwh < envelope["maximum"]
    assert it_kwh * 1000 == pytest.approx(measured["value"], rel=0.15)
    assert facility_kwh / it_kwh == pytest.approx(1.16, rel=1e-6)  # the ai-cluster profile's PUE


def test_servers_of_manufacturer_configurations_inside_the_spread_of_their_pcfs(ready_dir):
    """Each server configuration of a manufacturer PCF (inventories/validation/server_pcfs.yaml),
    a row of the servers table written by the same template as the GPU servers, lies inside the
    spread of the 48 manufacturer PCFs."""
    from bw_aicompute.validation import server_pcfs

    pcfs = server_pcfs()
    spread = pcfs["spread_48_servers"]
    ours = {}
    for config in pcfs["configurations"]:
        server = node(f"server-{config['server']}")
        assert len(server.technosphere()) == 9  # CPUs, DRAM, SSD, power supplies, chassis, fans, NIC, board, assembly
        ours[config["name"]] = score(f"server-{config['server']}")
        assert spread["minimum"] <= ours[config["name"]] <= spread["maximum"], (config["name"], ours[config["name"]])
    # a server's footprint grows with its memory and CPUs: the heavier configuration scores more
    assert ours["Dell PowerEdge C4140 (GPU server, GPUs excluded)"] > ours["Dell PowerEdge R940xa"]
    # the validation report's rows publish the same manufacturer figures
    from bw_aicompute.validation import references

    published = {r["id"]: r["published"] for r in references()}
    for config in pcfs["configurations"]:
        assert published[f"server-pcf-{config['server'].replace('_', '-')}"] == config["manufacturing"], config["name"]


def test_hgx_h100_baseboard_within_25_percent_of_nvidias_pcf(ready_dir):
    """Eight H100 SXM cards cradle to gate against NVIDIA's HGX H100 PCF (1,312 kg for the
    baseboard with its NVSwitches), and their HBM against the PCF's memory share (546 kg)."""
    import yaml

    board = yaml.safe_load((ROOT / "inventories" / "validation" / "server_pcfs.yaml").read_text())["hgx_h100_baseboard"]
    cards = 8 * score("gpu-card-h100_sxm_80gb-gate")
    assert cards == pytest.approx(board["kg_co2e"], rel=board["tolerance"])
    memory = 8 * 80 * score("hbm-memory-gb", db="aicompute-background")
    assert memory == pytest.approx(board["memory_kg_co2e"], rel=board["tolerance"])


def test_water_and_adp_non_zero_for_every_gpu_hour(ready_dir):
    hours = [ds for ds in bd.Database("aicompute") if ds["code"].startswith("gpu-hour-")]
    assert len(hours) == 22 * 34
    demands = {ds["code"]: {ds.id: 1.0} for ds in hours}
    methods = [IND[i].method for i in ("water", "water_consumption", "water_withdrawal", "adp_minerals")]
    scores = multi_scores(demands, methods)
    for code in demands:
        water, consumed, withdrawn, adp = (scores[(m, code)] for m in methods)
        assert water == pytest.approx(consumed * 42.95, rel=1e-4), code
        assert consumed > 1e-4 and withdrawn >= consumed and adp > 1e-7, code


def test_every_dataset_balances_its_water(ready_dir):
    for db in ("aicompute-background", "aicompute"):
        for ds in bd.Database(db):
            w = {"in": 0.0, "out": 0.0, "air": 0.0}
            for exc in ds.biosphere():
                flow = exc.input
                if not flow["name"].startswith("Water") or flow["database"] == "aicompute-water-locations":
                    continue  # a location flow tags water counted as `Water` to air
                if flow["categories"][0] == "natural resource":
                    w["in"] += exc["amount"]
                elif flow["categories"][0] == "water":
                    w["out"] += exc["amount"]
                elif flow["categories"][0] == "air":
                    w["air"] += exc["amount"]
            assert w["in"] == pytest.approx(w["out"] + w["air"], rel=1e-6, abs=1e-12), ds["code"]


def test_every_exchange_carries_a_source(ready_dir):
    """Every exchange has a source, repeated in its comment (what Activity Browser shows), also in
    a campaign's database."""
    campaign = assess(Path(__file__).parents[1] / "examples" / "moshi_like.yaml", indicators=["climate"]).database
    for db in ("aicompute-background", "aicompute", campaign):
        for ds in bd.Database(db):
            assert ds.get("comment"), ds["code"]
            for exc in ds.exchanges():
                if exc["type"] != "production":
                    assert exc.get("source") and exc["source"] in exc.get("comment", ""), (ds["code"], exc.input["name"])


def test_parameterized_exchanges_are_one_group_per_database(ready_dir):
    """One activity parameter group per database holds its parameterized exchanges (no
    `__dummy_` groups cluttering Activity Browser's Parameters page); an activity regrouped the
    way Activity Browser does after an edit takes only its own exchanges out of it."""
    from bw2data.parameters import ActivityParameter, Group, ParameterizedExchange

    groups = {g.name for g in Group.select()} - {"project", *bd.databases}
    # the background's one formula: hydropower evaporation, in the hydro plant and the grids' location flows
    assert groups == {"aicompute::exchanges", "aicompute-background::exchanges"}
    assert not ActivityParameter.select().where(ActivityParameter.name.startswith("__dummy")).count()
    count = ParameterizedExchange.select().where(ParameterizedExchange.group == "aicompute::exchanges").count()
    assert count > 1000 and ActivityParameter.get(group="aicompute::exchanges").amount == count
    hour = node("gpu-hour-h100_sxm_80gb-FR")
    bd.parameters.add_exchanges_to_group(str(hour.id), hour)  # Activity Browser's regrouping
    moved = ParameterizedExchange.select().where(ParameterizedExchange.group == str(hour.id)).count()
    assert moved and ParameterizedExchange.select().where(ParameterizedExchange.group == "aicompute::exchanges").count() == count - moved


def test_parameter_changed_in_brightway_propagates(ready_dir):
    before = score("gpu-hour-h100_sxm_80gb-FR")
    p = DatabaseParameter.get(database="aicompute", name="gpu_load_factor")
    p.amount = 1.0
    p.save()
    bd.parameters.recalculate()
    hour = node("gpu-hour-h100_sxm_80gb-FR")
    energy = next(e for e in hour.technosphere() if e.input["code"] == "datacenter-operation-FR")
    assert energy["amount"] == pytest.approx(700 * 1.0 * 1.43 / 1000, rel=1e-9)
    after = score("gpu-hour-h100_sxm_80gb-FR")
    fr_grid = score("electricity-grid-FR", db="aicompute-background")
    assert after - before == pytest.approx(0.7 * (1.0 - 0.87) * 1.43 * 1.16 * fr_grid, rel=1e-4)


def test_failed_inventory_install_is_completed_by_rerun(bw_dir, monkeypatch):
    real = install_mod.register_parameters

    def failing(bd_, db):
        if db.name == "aicompute":
            raise OSError("killed (injected)")
        return real(bd_, db)

    monkeypatch.setattr(install_mod, "register_parameters", failing)
    with pytest.raises(OSError):
        setup_project("inv")
    assert bd.databases["aicompute"][OWNER_KEY]["state"] == "installing"
    monkeypatch.setattr(install_mod, "register_parameters", real)
    report = setup_project("inv")
    assert ("database", "aicompute", "updated") in {(i.kind, i.name, i.action) for i in report.items}
    assert bd.databases["aicompute"][OWNER_KEY]["state"] == "complete"
    assert DatabaseParameter.select().where(DatabaseParameter.database == "aicompute").count() > 100
    assert score("gpu-hour-h100_sxm_80gb-FR") > 0
    assert not setup_project("inv").changed


def test_users_database_named_like_ours_is_refused(bw_dir, capsys):
    bd.projects.set_current("clash")
    bd.Database("aicompute").write({("aicompute", "x"): {"name": "mine", "unit": "kg", "exchanges": []}})
    assert main(["setup", "--project", "clash"]) == 2
    err = capsys.readouterr().err
    assert "'aicompute' exists" in err and "not created by bw_aicompute" in err
    assert [ds["name"] for ds in bd.Database("aicompute")] == ["mine"]


# ---------------------------------------------------------------------------------------------
# loader validation


GOOD = """
database: testdb
parameters:
  - {name: k, amount: 2, unit: dimensionless, source: test}
datasets:
  - code: a
    name: thing
    unit: kilogram
    comment: a test dataset
    exchanges:
      - biosphere: ["Carbon dioxide, fossil", [air]]
        unit: kilogram
        amount: "k * 1.5"
        source: test
      - biosphere: [Water, [air]]
        unit: cubic meter
        amount: 1
        source: test
      - biosphere: ["Water, unspecified natural origin", [natural resource, in water]]
        unit: cubic meter
        amount: 1
        source: test
"""


def load_text(tmp_path, text):
    d = tmp_path / "inv"
    d.mkdir(exist_ok=True)
    (d / "family.yaml").write_text(textwrap.dedent(text))
    return inventory_mod.load(flow_index("biosphere3"), "biosphere3", d)


def test_loader_accepts_good_file(ready_dir, tmp_path):
    (db,) = load_text(tmp_path, GOOD)
    ds = db.datasets[("testdb", "a")]
    co2 = ds["exchanges"][1]
    assert co2["amount"] == 3.0 and co2["formula"] == "k * 1.5"


@pytest.mark.parametrize(
    "change, message",
    [
        (("unit: kilogram\n    comment", "unit: kilogramme\n    comment"), "unit 'kilogramme' unknown"),
        (("        amount: \"k * 1.5\"\n        source: test", "        amount: \"k * 1.5\""), "exchange 1: missing field 'source'"),
        (('["Carbon dioxide, fossil", [air]]', '["Carbon dioxyde, fossil", [air]]'), "biosphere flow 'Carbon dioxyde, fossil'"),
        (("amount: 1\n        source: test\n      - biosphere: [\"Water, unspecified", "amount: 0.5\n        source: test\n      - biosphere: [\"Water, unspecified"), "water does not balance"),
        (('"k * 1.5"', '"kk * 1.5"'), "cannot be evaluated"),
        (('"k * 1.5"', "-3"), "negative"),
        (("    comment: a test dataset\n", ""), "missing field 'comment'"),
        (("source: test}", "}"), "parameter needs 'source'"),
    ],
)
def test_loader_rejects_bad_data_naming_file_and_dataset(ready_dir, tmp_path, change, message):
    old, new = change
    assert old in textwrap.dedent(GOOD)
    with pytest.raises(AicomputeError) as exc:
        load_text(tmp_path, textwrap.dedent(GOOD).replace(old, new))
    text = str(exc.value)
    assert message in text
    assert text.startswith("inventories/family.yaml:")


def test_loader_rejects_duplicates_links_and_uncertainty(ready_dir, tmp_path):
    base = textwrap.dedent(GOOD)
    dup = base + base[base.index("  - code: a") :]
    with pytest.raises(AicomputeError, match="duplicate code"):
        load_text(tmp_path, dup)
    link = base.replace(
        "      - biosphere: [Water, [air]]",
        "      - technosphere: nowhere\n        unit: kilogram\n        amount: 1\n        source: test\n      - biosphere: [Water, [air]]",
    )
    with pytest.raises(AicomputeError, match="unknown provider"):
        load_text(tmp_path, link)
    unc = base.replace("        amount: 1\n        source: test\n      - biosphere: [\"Water, unspecified", "        amount: 1\n        source: test\n        uncertainty: {type: triangular, minimum: 2, maximum: 3}\n      - biosphere: [\"Water, unspecified")
    with pytest.raises(AicomputeError, match="must contain the amount"):
        load_text(tmp_path, unc)
    with pytest.raises(AicomputeError, match="not valid YAML"):
        load_text(tmp_path, base + "\n  - [unclosed")


def test_cli_datasets_and_show(ready_dir, capsys):
    assert main(["datasets", "--search", "GPU-hour, H100 SXM"]) == 0
    out = capsys.readouterr().out
    assert "GPU-hour, H100 SXM 80GB, FR" in out and "code=gpu-hour-h100_sxm_80gb-FR" in out
    assert main(["show", "GPU-hour, H100 SXM 80GB, FR"]) == 0
    out = capsys.readouterr().out
    assert "datacenter operation, per kWh of IT energy, FR" in out
    assert "formula: (h100_sxm_80gb_tdp_w * gpu_load_factor * (1 + node_overhead_share * h100_sxm_80gb_host_share) + node_overhead_w_per_gpu) / 1000" in out
    assert out.count("source:") == 6
    assert main(["show", "electricity-grid-FR"]) == 0
    assert "generation share of nuclear" in capsys.readouterr().out


def test_cli_show_unknown_and_ambiguous(ready_dir, capsys):
    assert main(["show", "GPU-hour, H100 SXM 80GB, FX"]) == 2
    err = capsys.readouterr().err
    assert "no dataset named 'GPU-hour, H100 SXM 80GB, FX'" in err and "did you mean" in err
    assert main(["show", "market for electricity, grid mix"]) == 2
    assert "give the code instead" in capsys.readouterr().err


def test_cli_tables(ready_dir, capsys):
    assert main(["tables", "--sites", "FR,US"]) == 0
    out = capsys.readouterr().out
    assert "| GPU | FR | US |" in out
    assert "| H100 SXM 80GB |" in out
    assert "GPU node, NVIDIA DGX H100, 8 x H100 SXM 80GB" in out


def test_documented_show_output_is_current(ready_dir, capsys):
    """The `aicompute show` example of docs/methodology/inventories.md is what the command prints
    (its IT energy per GPU-hour is the default really applied)."""
    text = (Path(__file__).parents[1] / "docs" / "methodology" / "inventories.md").read_text(encoding="utf-8")
    m = re.search(r'\$ aicompute show "([^"]+)"[^\n]*\n(.*?)\n  \.\.\.\n```', text, re.S)
    assert main(["show", m.group(1)]) == 0
    expected = m.group(2).splitlines()
    assert capsys.readouterr().out.splitlines()[: len(expected)] == expected, "run: python tests/update_docs.py"


def test_readme_tables_are_current(ready_dir):
    """The documentation's tables (docs/methodology/inventories.md) are the output of
    `aicompute tables` on the current database."""
    from bw_aicompute.catalog import readme_tables

    readme = (Path(__file__).parents[1] / "docs" / "methodology" / "inventories.md").read_text(encoding="utf-8")
    current = readme.split("<!-- tables:start -->\n", 1)[1].split("\n<!-- tables:end -->", 1)[0]
    assert current == readme_tables(["FR", "US", "DE", "GLO"]), "run: aicompute tables --update-readme docs/methodology/inventories.md"


def test_sources_cite_what_a_user_can_find():
    """Sources name the publication or dataset (as inventories/SOURCES.md does), never the
    developers' reference notes or folders a user does not have, and no bare "unverified"."""
    root = Path(__file__).parents[1]
    files = [*(root / "inventories").rglob("*.yaml"), *(root / "inventories").glob("*.md"), *(root / "examples").glob("*.yaml")]
    private = re.compile(r"data_sources\.md|published_studies\.md|shared/data|shared/reference|\bunverified\b")
    found = [f"{f.relative_to(root)}:{n}" for f in files for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1) if private.search(line)]
    assert found == []


def test_parameters_say_their_source_in_the_comment_activity_browser_shows(ready_dir):
    """Activity Browser 3 shows a parameter's `comment`; every parameter of ours carries its
    source there (as exchanges do), and a comment of its own is kept before it."""
    params = list(DatabaseParameter.select().where(DatabaseParameter.database.in_(["aicompute", "aicompute-background"])))
    assert len(params) > 100
    for p in params:
        source, comment = p.data.get("source", ""), p.data.get("comment", "")
        assert source and source in comment, p.name
    fab = next(p for p in params if p.name == "fab_line_yield")
    assert fab.data["comment"].startswith("Share of processed wafer area") and fab.data["comment"].endswith(fab.data["source"])
