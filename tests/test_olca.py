"""The openLCA export, read back with olca-schema's own reader: every dataset, exchange, amount,
unit, formula and parameter survives, product flows link to their providers, and elementary flows
keep their ecoinvent UUIDs; its documents have the fields openLCA itself writes (USLCI's), and
bw2io's JSON-LD importers read it back with the same scores."""

from pathlib import Path

import bw2data as bd
import olca_schema as o
import pytest
from bw2data.parameters import DatabaseParameter
from olca_schema import zipio

from bw_aicompute.cli import main
from bw_aicompute.olca import _id, olca_formula, reference_units

EXAMPLES = Path(__file__).parents[1] / "examples"
DATABASES = ("aicompute-background", "aicompute")


@pytest.fixture
def package(ready_dir, tmp_path, capsys):
    out = tmp_path / "inventories.zip"
    assert main(["export-inventories", str(out)]) == 0
    assert "openLCA JSON-LD" in capsys.readouterr().out
    reader = zipio.ZipReader(str(out))
    yield reader
    reader.close()


def test_every_dataset_exchange_and_parameter_survives(package):
    processes = {pid: package.read_process(pid) for pid in package.ids_of(o.Process)}
    nodes = [ds for db in DATABASES for ds in bd.Database(db)]
    assert len(processes) == len(nodes)
    for ds in nodes:
        proc = processes[_id("process", ds["database"], ds["code"])]
        assert proc.name == ds["name"] and proc.location.name == ds["location"]
        excs = list(ds.exchanges())
        assert len(proc.exchanges) == len(excs)
        for exc, e in zip(excs, proc.exchanges):
            unit = reference_units()["units"].get(exc.input["unit"], (exc.input["unit"],))[0]  # openLCA's name of it
            assert e.amount == pytest.approx(exc["amount"], rel=1e-12) and e.unit.name == unit
            if exc.get("formula"):
                assert e.amount_formula == olca_formula(exc["formula"]) and "**" not in e.amount_formula
            if exc["type"] == "technosphere":
                provider = processes[e.default_provider.id]  # the provider is in the package
                reference = next(x for x in provider.exchanges if x.is_quantitative_reference)
                assert reference.flow.id == e.flow.id and e.is_input
            if exc["type"] == "biosphere":
                assert e.flow.id == exc.input["code"]  # the ecoinvent UUID
            if exc.get("uncertainty type", 0) > 1:
                assert e.uncertainty is not None
    params = {package.read_parameter(pid).name: package.read_parameter(pid) for pid in package.ids_of(o.Parameter)}
    ours = list(DatabaseParameter.select().where(DatabaseParameter.database.in_(["aicompute", "aicompute-background"])))
    assert len(params) == len(ours)
    for p in ours:
        assert params[p.name].value == pytest.approx(p.amount, rel=1e-9)
        assert (params[p.name].formula or None) == (olca_formula(p.formula) if p.formula else None)
    # a beta (median at the default, 5.75 in 4-6) has no openLCA type: the triangle of its range
    # whose median is nearest (mode at the upper bound)
    life = params["hw_lifetime_years"].uncertainty
    assert life.distribution_type == o.UncertaintyType.TRIANGLE_DISTRIBUTION and (life.minimum, life.mode, life.maximum) == (4, 6, 6)
    # a triangular keeps its range, its mode solved so that its median is the default
    evap = params["cooling_water_evaporated_share"].uncertainty
    assert evap.distribution_type == o.UncertaintyType.TRIANGLE_DISTRIBUTION
    assert evap.mode == pytest.approx(0.6 + 2 * (2 / 3) ** 2 * 0.3, rel=1e-9)


def test_campaign_with_its_supply_chain(ready_dir, tmp_path, capsys):
    out = tmp_path / "campaign.zip"
    assert main(["assess", str(EXAMPLES / "finetune_measured_ppa.yaml"), "--export-olca", str(out)]) == 0
    reader = zipio.ZipReader(str(out))
    names = {reader.read_process(pid).name for pid in reader.ids_of(o.Process)}
    params = [reader.read_parameter(pid) for pid in reader.ids_of(o.Parameter)]
    reader.close()
    # one global parameter per name: the foreground's, with its uncertainty (not the campaign's copy)
    assert len({p.name for p in params}) == len(params)
    assert next(p for p in params if p.name == "gpu_load_factor").uncertainty is not None
    assert any(name.startswith("campaign") or "fine-tuning" in name for name in names)
    assert "market for electricity, grid mix" in names
    # a zip in a folder that does not exist: one message, exit 2, nothing written
    assert main(["export-inventories", str(tmp_path / "missing" / "x.zip")]) == 2
    assert "aicompute: error:" in capsys.readouterr().err and not (tmp_path / "missing").exists()


USLCI = Path(__file__).parent / "data" / "uslci"
#: Fields of openLCA schema 1 (USLCI's openLCA wrote it) under their schema 2 names (ours).
V2 = {
    "input": "isInput", "avoidedProduct": "isAvoidedProduct", "quantitativeReference": "isQuantitativeReference",
    "infrastructureProcess": "isInfrastructureProcess", "infrastructureFlow": "isInfrastructureFlow",
    "referenceFlowProperty": "isRefFlowProperty", "referenceUnit": "isRefUnit",
}
#: Fields of USLCI's documents that ours leave out: `@context` and the `@id`, `@type` and `version`
#: of embedded objects (units, exchanges) are schema 1 only (schema 2 writes `olca-schema.json`
#: and `internalId`; its Unit has no version); USLCI writes a latitude and longitude of 0.0 for a
#: region, we write no false point.
LEFT_OUT = {"@context", "latitude", "longitude"}


def _documents(folder: Path) -> dict[str, list[dict]]:
    import json

    return {sub.name: [json.loads(f.read_text()) for f in sorted(sub.glob("*.json"))] for sub in folder.iterdir() if sub.is_dir()}


def _fields(docs: list[dict], part: str | None = None, embedded: bool = False) -> set[str]:
    """The fields every document (or every embedded `part` item) has, under schema 2's names."""
    items = [x for d in docs for x in d.get(part, [])] if part else docs
    common = set.intersection(*(set(x) for x in items))
    drop = LEFT_OUT | ({"@id", "@type", "version"} if embedded else set())
    return {V2.get(k, k) for k in common} - drop


def test_documents_have_the_fields_openlca_writes(ready_dir, tmp_path):
    """Process, exchange, flow, flow property factor, flow property, unit group, unit and
    location documents of our package have every field that openLCA itself writes in USLCI's;
    every exchange names its flow property, a reference one of openLCA (the same UUIDs as
    USLCI's), and a unit of that property's group."""
    import zipfile

    out = tmp_path / "inventories.zip"
    assert main(["export-inventories", str(out)]) == 0
    (tmp_path / "ours").mkdir()
    zipfile.ZipFile(out).extractall(tmp_path / "ours")
    ours, theirs = _documents(tmp_path / "ours"), _documents(USLCI)
    for kind in ("PRODUCT_FLOW", "ELEMENTARY_FLOW"):
        theirs[kind], ours[kind] = ([f for f in docs["flows"] if f["flowType"] == kind] for docs in (theirs, ours))
    for folder, part in [("processes", None), ("processes", "exchanges"), ("PRODUCT_FLOW", None), ("ELEMENTARY_FLOW", None), ("flows", "flowProperties"),
                         ("flow_properties", None), ("unit_groups", None), ("unit_groups", "units"), ("locations", None)]:
        missing = _fields(theirs[folder], part, embedded=part is not None) - _fields(ours[folder], part)
        assert not missing, (folder, part, missing)
    uslci_energy = theirs["flow_properties"][0]
    assert any(p["@id"] == uslci_energy["@id"] and p["name"] == uslci_energy["name"] for p in ours["flow_properties"])
    groups = {g["@id"]: {u["@id"] for u in g["units"]} for g in ours["unit_groups"]}
    group_of = {p["@id"]: p["unitGroup"]["@id"] for p in ours["flow_properties"]}
    for proc in ours["processes"]:
        for e in proc["exchanges"]:
            assert e["unit"]["@id"] in groups[group_of[e["flowProperty"]["@id"]]]
    kwh = next(p for p in ours["processes"] if p["name"].startswith("market for electricity, grid mix"))
    assert {e["unit"]["name"] for e in kwh["exchanges"]} <= {"kWh", "kg", "m3", "MJ", "Item(s)", "t*km"}
    categories = {c["name"]: c for c in ours["lcia_categories"]}
    scarcity = categories["bw_aicompute | water scarcity | AWARE 2.0 regionalised"]
    assert len(scarcity["impactFactors"]) == 100 and all("flowProperty" in f and "unit" in f for f in scarcity["impactFactors"])
    assert [m["name"] for m in ours["lcia_methods"]] == ["bw_aicompute indicators"] and len(ours["lcia_methods"][0]["impactCategories"]) == 10


def test_bw2io_reads_the_package_back_with_the_same_scores(ready_dir, tmp_path):
    """bw2io's JSON-LD importers (a third-party reader) read a campaign's package, processes,
    flows, units and the ten impact categories, into a new project: bw2calc gives `assess`'s
    totals on every indicator (float32 storage: relative 1e-6)."""
    import zipfile

    import bw2calc as bc
    from bw2io.importers.json_ld import JSONLDImporter
    from bw2io.importers.json_ld_lcia import JSONLDLCIAImporter

    from bw_aicompute.assessment import assess
    from bw_aicompute.methods import indicators

    names = list(indicators())
    path = EXAMPLES / "moshi_like.yaml"
    expected = assess(path, indicators=names).totals.set_index("indicator")["value"]
    out = tmp_path / "campaign.zip"
    assert main(["export-inventories", str(out), "--campaign", str(path)]) == 0
    folder = tmp_path / "jsonld"
    zipfile.ZipFile(out).extractall(folder)
    bd.projects.set_current("openlca-reader")
    imp = JSONLDImporter(folder, "from-openlca")
    imp.apply_strategies(no_warning=True)
    imp.write_separate_biosphere_database()
    assert imp.all_linked
    imp.write_database()
    lcia = JSONLDLCIAImporter(folder)
    lcia.apply_strategies()
    lcia.match_biosphere_by_id("from-openlca biosphere")
    assert lcia.all_linked
    lcia.write_methods()
    process = next(a for a in bd.Database("from-openlca") if a["name"].startswith("campaign, "))
    product = next(e.input for e in process.production())
    for name in names:
        method = ("bw_aicompute indicators", " | ".join(indicators()[name].method))
        lca = bc.LCA({product: 1}, method=method)
        lca.lci()
        lca.lcia()
        assert lca.score == pytest.approx(expected[name], rel=1e-6), name
    bd.projects.set_current("aicompute")
