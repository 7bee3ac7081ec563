"""`setup_project`: fresh setup, idempotence, safety of user data, other biosphere names,
recovery after a failure midway, and the installed methods themselves."""

import hashlib
import json
import pickle

import bw2calc as bc
import bw2data as bd
import pytest
from bw2data.backends import ActivityDataset, ExchangeDataset

import bw_aicompute.ownership as ownership
import bw_aicompute.setup as setup_mod
from bw_aicompute import setup_project
from bw_aicompute.ownership import OWNER_KEY
from bw_aicompute.methods import custom_methods, indicators, standard_method_names

EXPECTED_METHODS = set(standard_method_names()) | {m.name for m in custom_methods()}

CO2 = ("Carbon dioxide, fossil", ("air",), "kilogram")
WATER_AIR = ("Water", ("air",), "cubic meter")
WATER_IN = ("Water, unspecified natural origin", ("natural resource", "in water"), "cubic meter")
WATER_OUT = ("Water", ("water", "surface water"), "cubic meter")
GOLD = ("Gold", ("natural resource", "in ground"), "kilogram")
GAS = ("Gas, natural", ("natural resource", "in ground"), "standard cubic meter")


def flow(biosphere, name, categories, unit):
    matches = [
        f
        for f in bd.Database(biosphere)
        if f["name"] == name and tuple(f["categories"]) == categories and f["unit"] == unit
    ]
    assert len(matches) == 1, (name, categories)
    return matches[0]


def method_rows(name):
    """The processed characterization matrix data of a method: (flow id, CF) pairs."""
    import bw_processing as bwp
    from fsspec.implementations.zip import ZipFileSystem

    dp = bwp.load_datapackage(ZipFileSystem(bd.Method(name).filepath_processed()))
    group = dp.groups[next(iter(dp.groups))]
    indices = group.get_resource(next(r["name"] for r in group.resources if r["name"].endswith(".indices")))[0]
    data = group.get_resource(next(r["name"] for r in group.resources if r["name"].endswith(".data")))[0]
    return sorted(zip(indices["row"].tolist(), data.tolist()))


def write_probe(biosphere):
    """A user database with one activity: 1 kg CO2, 2 m3 withdrawn, 1 m3 released, 1 m3
    evaporated (balanced), 1 g of gold, 1 Sm3 of natural gas."""
    db = bd.Database("probe")
    exchanges = [
        (CO2, 1.0),
        (WATER_IN, 2.0),
        (WATER_OUT, 1.0),
        (WATER_AIR, 1.0),
        (GOLD, 0.001),
        (GAS, 1.0),
    ]
    db.write(
        {
            ("probe", "p"): {
                "name": "probe",
                "unit": "unit",
                "location": "GLO",
                "exchanges": [{"input": ("probe", "p"), "amount": 1, "type": "production"}]
                + [
                    {"input": flow(biosphere, *f).key, "amount": a, "type": "biosphere"}
                    for f, a in exchanges
                ],
            }
        }
    )
    return bd.get_node(database="probe", code="p")


def score(node, method):
    lca = bc.LCA({node: 1}, method)
    lca.lci()
    lca.lcia()
    return lca.score


def test_fresh_setup_installs_biosphere_methods_and_leaves_other_projects(ready_dir):
    """A new project beside a set-up one and someone else's: only the new one is written."""
    others = [bd.projects.dir]  # the set-up project `aicompute`
    bd.projects.set_current("someone-else")
    bd.Database("theirs").write(
        {("theirs", "a"): {"name": "a", "unit": "kg", "exchanges": [{"input": ("theirs", "a"), "amount": 1, "type": "production"}]}}
    )
    others.append(bd.projects.dir)
    before = {p: p.read_bytes() for d in others for p in d.rglob("*") if p.is_file()}
    report = setup_project("fresh")
    assert report.project_created
    assert report.biosphere == "biosphere3"
    assert "fresh" in bd.projects
    bd.projects.set_current("fresh")
    assert len(bd.Database("biosphere3")) == 4709
    assert EXPECTED_METHODS <= set(bd.methods)
    for name in EXPECTED_METHODS:
        owner = bd.methods[name][OWNER_KEY]
        assert owner["state"] == "complete"
        assert bd.methods[name]["num_cfs"] > 0
    assert bd.databases["biosphere3"][OWNER_KEY]["state"] == "complete"
    # nothing else was written: exactly the listed methods, no other database
    assert set(bd.methods) == EXPECTED_METHODS
    assert set(bd.databases) == {"biosphere3", "aicompute-water-locations", "aicompute-background", "aicompute"}
    for name in bd.databases:
        assert bd.databases[name][OWNER_KEY]["state"] == "complete"
    assert not setup_project("aicompute").changed
    assert {p: p.read_bytes() for d in others for p in d.rglob("*") if p.is_file()} == before


def test_indicators_cover_the_required_methods():
    required = {
        ("IPCC 2021", "climate change", "global warming potential (GWP100)"),
        ("EF v3.1", "climate change", "global warming potential (GWP100)"),
        ("EF v3.1", "water use", "user deprivation potential (deprivation-weighted water consumption)"),
        (
            "EF v3.1",
            "material resources: metals/minerals",
            "abiotic depletion potential (ADP): elements (ultimate reserves)",
        ),
        ("EF v3.1", "energy resources: non-renewable", "abiotic depletion potential (ADP): fossil fuels"),
    }
    assert required <= EXPECTED_METHODS
    assert any(m[0] == "Cumulative Energy Demand (CED)" for m in EXPECTED_METHODS)
    names = set(indicators())
    assert {"climate", "water", "water_consumption", "water_withdrawal", "adp_minerals", "adp_fossil", "energy"} <= names


def test_methods_give_expected_scores(ready_dir):
    """Every indicator solves on a real LCA and gives the factor of the method file."""
    probe = write_probe("biosphere3")
    ind = indicators()
    assert score(probe, ind["climate"].method) == pytest.approx(1.0, rel=1e-6)
    assert score(probe, ind["climate_ef"].method) == pytest.approx(1.0, rel=1e-6)
    assert score(probe, ind["water"].method) == pytest.approx(42.95, rel=1e-6)
    assert score(probe, ind["water_consumption"].method) == pytest.approx(1.0, rel=1e-6)
    assert score(probe, ind["water_withdrawal"].method) == pytest.approx(2.0, rel=1e-6)
    assert score(probe, ind["adp_minerals"].method) == pytest.approx(0.052, rel=1e-5)
    assert score(probe, ind["adp_fossil"].method) == pytest.approx(36.0, rel=1e-6)
    assert score(probe, ind["energy"].method) == pytest.approx(40.0, rel=1e-6)
    # EN 15804 net fresh water: +2 withdrawn, -1 released
    assert score(probe, ("EN15804", "inventory indicators ISO21930", "use of net fresh water")) == pytest.approx(
        1.0, rel=1e-6
    )


def test_every_cf_is_on_an_existing_biosphere_flow(ready_dir):
    bio_ids = {a.id for a in ActivityDataset.select(ActivityDataset.id).where(ActivityDataset.database.in_(["biosphere3", "aicompute-water-locations"]))}
    for name in EXPECTED_METHODS:
        rows = method_rows(name)
        assert rows, name
        assert len(rows) == bd.methods[name]["num_cfs"]
        assert {r for r, _ in rows} <= bio_ids, name
    # no CF of the bw2io file was dropped on the way
    from bw_aicompute.methods import load_bw2io_methods

    shipped = load_bw2io_methods(set(standard_method_names()))
    for name, m in shipped.items():
        assert bd.methods[name]["num_cfs"] == len(m["exchanges"]), name


def test_second_run_changes_nothing(ready_dir):
    before = snapshot_everything(ready_dir)
    report = setup_project("aicompute")
    assert not report.project_created
    assert not report.changed
    assert {i.action for i in report.items} == {"present"}
    assert snapshot_everything(ready_dir) == before


def snapshot_everything(base):
    """Hash of every file of the data directory except logs and search indexes."""
    out = {}
    for p in sorted(base.rglob("*")):
        if p.is_file() and "logs" not in p.parts and p.suffix not in (".log",):
            out[str(p.relative_to(base))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def user_state(db_name, method_name):
    """Everything that belongs to a user's database and method: processed arrays, SQLite rows
    and registry metadata."""
    h = hashlib.sha256()
    h.update(bd.Database(db_name).filepath_processed().read_bytes())
    h.update(bd.Method(method_name).filepath_processed().read_bytes())
    acts = ActivityDataset.select().where(ActivityDataset.database == db_name).order_by(ActivityDataset.code)
    for a in acts:
        h.update(pickle.dumps((a.code, a.name, a.type, sorted(a.data.items(), key=str))))
    excs = ExchangeDataset.select().where(ExchangeDataset.output_database == db_name).order_by(ExchangeDataset.id)
    for e in excs:
        h.update(pickle.dumps((e.input_database, e.input_code, e.output_code, e.type, sorted(e.data.items(), key=str))))
    h.update(json.dumps(bd.databases[db_name], sort_keys=True, default=str).encode())
    h.update(json.dumps(bd.methods[method_name], sort_keys=True, default=str).encode())
    return h.hexdigest()


def test_user_database_and_method_stay_byte_identical(ready_dir):
    probe = write_probe("biosphere3")
    user_method = ("my study", "my indicator")
    bd.Method(user_method).register(unit="kg", description="mine")
    bd.Method(user_method).write([(flow("biosphere3", *CO2).id, 3.0)])
    # the user also changed one of "our" standard methods? No: a user's method of the same
    # name as a standard one is theirs and must be kept
    before = user_state("probe", user_method)
    files_before = (bd.Database("probe").filepath_processed().read_bytes(), bd.Method(user_method).filepath_processed().read_bytes())

    # force a real reinstall of everything bw_aicompute owns, next to the user's data
    for name in EXPECTED_METHODS:
        bd.methods[name][OWNER_KEY]["fingerprint"] = "outdated"
    bd.methods.flush()
    report = setup_project("aicompute")
    assert sum(i.action == "updated" for i in report.items) == len(EXPECTED_METHODS)

    assert user_state("probe", user_method) == before
    assert (bd.Database("probe").filepath_processed().read_bytes(), bd.Method(user_method).filepath_processed().read_bytes()) == files_before
    assert score(probe, user_method) == pytest.approx(3.0, rel=1e-6)


def test_foreign_biosphere_and_method_of_the_same_name_are_kept(bw_dir):
    """A project set up by the user (their own biosphere3 and their own IPCC 2021 method) is
    completed around them, never rewritten."""
    import bw2io as bi

    bd.projects.set_current("users")
    bi.create_default_biosphere3()
    ipcc = ("IPCC 2021", "climate change", "global warming potential (GWP100)")
    bd.Method(ipcc).register(unit="kg CO2-Eq", description="user's own copy")
    bd.Method(ipcc).write([(flow("biosphere3", *CO2).id, 2.0)])
    bio_meta = json.dumps(bd.databases["biosphere3"], sort_keys=True, default=str)
    bio_file = bd.Database("biosphere3").filepath_processed().read_bytes()
    ipcc_file = bd.Method(ipcc).filepath_processed().read_bytes()

    report = setup_project("users")
    actions = {(i.kind, i.name): i.action for i in report.items}
    assert actions[("biosphere", "biosphere3")] == "kept"
    assert actions[("method", str(ipcc))] == "kept"
    assert json.dumps(bd.databases["biosphere3"], sort_keys=True, default=str) == bio_meta
    assert bd.Database("biosphere3").filepath_processed().read_bytes() == bio_file
    assert bd.Method(ipcc).filepath_processed().read_bytes() == ipcc_file
    assert OWNER_KEY not in bd.methods[ipcc]
    assert EXPECTED_METHODS <= set(bd.methods)
    # second run: still nothing changed
    assert not setup_project("users").changed


def test_biosphere_named_like_an_ecoinvent_import(bw_dir):
    """An ecoinvent-style biosphere is used, named by the preference or found by its name."""
    from bw2io.importers import Ecospold2BiosphereImporter

    bd.projects.set_current("ei")
    name = "ecoinvent-3.10-biosphere"
    imp = Ecospold2BiosphereImporter(name=name)
    imp.apply_strategies(verbose=False)
    bd.Database(name).write({(name, ds["code"]): ds for ds in imp.data})
    # a copy of the project without the preference: the biosphere is found by its name
    bd.projects.copy_project("ei-no-preference", switch=True)
    report = setup_project("ei-no-preference")
    assert report.biosphere == name
    assert set(bd.databases) == {name, "aicompute-water-locations", "aicompute-background", "aicompute"}

    bd.projects.set_current("ei")
    bd.preferences["biosphere_database"] = name
    bd.preferences.flush()
    report = setup_project("ei")
    assert report.biosphere == name
    assert "biosphere3" not in bd.databases
    probe = write_probe(name)
    ind = indicators()
    assert score(probe, ind["climate"].method) == pytest.approx(1.0, rel=1e-6)
    assert score(probe, ind["water_withdrawal"].method) == pytest.approx(2.0, rel=1e-6)
    ids = {a.id for a in ActivityDataset.select(ActivityDataset.id).where(ActivityDataset.database.in_([name, "aicompute-water-locations"]))}
    for m in EXPECTED_METHODS:
        assert {r for r, _ in method_rows(m)} <= ids


def test_failure_in_methods_midway_then_rerun_completes(bw_dir, monkeypatch):
    calls = {"n": 0}
    real = setup_mod._write_method

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            # a method is registered and marked installing, then the write dies
            bd.Method(args[1]).register(**args[3], **{OWNER_KEY: ownership.mark(args[4], "installing")})
            raise OSError("disk full (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(setup_mod, "_write_method", failing)
    with pytest.raises(OSError):
        setup_project("broken")
    half = [m for m in EXPECTED_METHODS if m in bd.methods and bd.methods[m][OWNER_KEY]["state"] == "complete"]
    assert 0 < len(half) < len(EXPECTED_METHODS)

    monkeypatch.setattr(setup_mod, "_write_method", real)
    report = setup_project("broken")
    assert report.changed
    for m in EXPECTED_METHODS:
        assert bd.methods[m][OWNER_KEY]["state"] == "complete"
    probe = write_probe("biosphere3")
    for ind in indicators().values():
        assert score(probe, ind.method) > 0, ind.name
    assert not setup_project("broken").changed


def test_failure_while_writing_biosphere_then_rerun_completes(bw_dir, monkeypatch):
    from bw2data.backends import SQLiteBackend

    real = SQLiteBackend._efficient_write_many_data

    def failing(self, data, *args, **kwargs):
        real(self, data[:100], *args, **kwargs)
        raise OSError("killed (injected)")

    monkeypatch.setattr(SQLiteBackend, "_efficient_write_many_data", failing)
    with pytest.raises(OSError):
        setup_project("broken-bio")
    assert bd.databases["biosphere3"][OWNER_KEY]["state"] == "installing"

    monkeypatch.setattr(SQLiteBackend, "_efficient_write_many_data", real)
    report = setup_project("broken-bio")
    assert [(i.name, i.action) for i in report.items if i.kind == "biosphere"] == [("biosphere3", "updated"), ("aicompute-water-locations", "installed")]
    assert len(bd.Database("biosphere3")) == 4709
    assert bd.databases["biosphere3"][OWNER_KEY]["state"] == "complete"
    assert EXPECTED_METHODS <= set(bd.methods)


def test_a_complete_mark_without_rows_is_repaired(ready_dir):
    import bw2data as bd
    from bw2data.backends import ActivityDataset as AD

    from bw_aicompute import setup_project

    AD.delete().where(AD.database == "biosphere3").execute()  # what two concurrent setups once left
    assert bd.databases["biosphere3"]["bw_aicompute"]["state"] == "complete"
    report = setup_project("aicompute")
    assert ("biosphere3", "updated") in {(i.name, i.action) for i in report.items}
    assert AD.select().where(AD.database == "biosphere3").count() == 4709
    # what holds the biosphere's node ids (methods, inventories) was rewritten with it
    actions = {(i.kind, i.action) for i in report.items}
    assert ("method", "updated") in actions and ("database", "updated") in actions
    assert setup_project("aicompute").changed is False
    from bw_aicompute.lca import score_table

    hour = bd.get_node(database="aicompute", code="gpu-hour-h100_sxm_80gb-FR")
    assert score_table({"h": hour}, ["climate"]).loc["h", "climate"] > 0.01


def test_flow_index_follows_a_change_of_the_biosphere(ready_dir):
    """The flow index is cached per process, and a flow added to the biosphere is seen."""
    from bw_aicompute.project import flow_codes, flow_index

    before = flow_index("biosphere3")
    assert flow_index("biosphere3") == before
    node = bd.Database("biosphere3").new_node(code="test-flow", name="Test flow", categories=("air",), unit="kilogram", type="emission")
    node.save()
    assert ("Test flow", ("air",), "kilogram") in flow_index("biosphere3")
    assert flow_codes("biosphere3")[node.id] == "test-flow"
