"""Linking the foreground to ecoinvent, tested against a stub database that carries real
ecoinvent 3.10 activity names, reference products, units and locations (no licensed data)."""

import hashlib
import json
from pathlib import Path

import bw2data as bd
import pytest

from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.ecoinvent import LINKED_PREFIX, VERSIONS, load_mapping

EXAMPLES = Path(__file__).parents[1] / "examples"
EI = "ecoinvent-3.10-cutoff"
EI_BIO = "ecoinvent-3.10-biosphere"
LINKED = LINKED_PREFIX + EI

# real ecoinvent 3.10 cut-off identities (name, reference product, location, unit) and a made-up
# GHG per unit for the stub (no ecoinvent data)
STUB = [
    ("market for electricity, medium voltage", "electricity, medium voltage", "FR", "kilowatt hour", 0.080),
    ("market for electricity, medium voltage", "electricity, medium voltage", "DE", "kilowatt hour", 0.450),
    ("market for electricity, medium voltage", "electricity, medium voltage", "TW", "kilowatt hour", 0.600),
    ("market group for electricity, medium voltage", "electricity, medium voltage", "US", "kilowatt hour", 0.400),
    ("market group for electricity, medium voltage", "electricity, medium voltage", "GLO", "kilowatt hour", 0.500),
    ("market group for transport, freight, lorry, unspecified", "transport, freight, lorry, unspecified", "GLO", "ton kilometer", 0.15),
    ("market for aluminium, primary, ingot", "aluminium, primary, ingot", "RoW", "kilogram", 12.0),
    ("market for transport, freight, sea, container ship", "transport, freight, sea, container ship", "GLO", "ton kilometer", 0.01),
    ("market for transport, freight, aircraft, long haul", "transport, freight, aircraft, long haul", "GLO", "ton kilometer", 1.0),
    ("market for steel, low-alloyed", "steel, low-alloyed", "GLO", "kilogram", 2.0),
    ("market for gold", "gold", "GLO", "kilogram", 20000.0),
    ("market for copper, cathode", "copper, cathode", "GLO", "kilogram", 4.0),
]
WATER_FLOWS = [
    ("Water", ("air",)),
    ("Water, unspecified natural origin", ("natural resource", "in water")),
    ("Water", ("water", "surface water")),
]


def co2():
    return next(f for f in bd.Database("biosphere3") if f["name"] == "Carbon dioxide, fossil" and f["categories"] == ("air",))


def build_stub():
    # a user's ecoinvent biosphere under its own name (only the flows needed here)
    bio = {}
    for i, (name, cats) in enumerate(WATER_FLOWS):
        bio[(EI_BIO, f"w{i}")] = {"name": name, "categories": cats, "unit": "cubic meter", "type": "emission" if cats[0] != "natural resource" else "natural resource", "exchanges": []}
    bd.Database(EI_BIO).write(bio)
    data = {}
    for i, (name, product, location, unit, ghg) in enumerate(STUB):
        key = (EI, f"stub{i}")
        data[key] = {
            "name": name,
            "reference product": product,
            "location": location,
            "unit": unit,
            "type": "process",
            "exchanges": [{"input": key, "amount": 1.0, "type": "production"}, {"input": co2().key, "amount": ghg, "type": "biosphere"}],
        }
    bd.Database(EI).write(data)
    bd.databases[EI]["depends"] = [EI_BIO, "biosphere3"]
    bd.databases.flush()


def state_of_everything_else():
    out = {}
    for name in sorted(bd.databases):
        if name.startswith(LINKED_PREFIX):
            continue
        fp = bd.Database(name).filepath_processed()
        out[name] = (hashlib.sha256(fp.read_bytes()).hexdigest() if fp.exists() else None, json.dumps(bd.databases[name], sort_keys=True, default=str))
    return out


def score(db, code, indicator="climate"):
    import bw2calc as bc

    from bw_aicompute.methods import indicators

    lca = bc.LCA({bd.get_node(database=db, code=code): 1}, indicators()[indicator].method)
    lca.lci()
    lca.lcia()
    return lca.score


def test_mapping_files_exist_for_every_version():
    from ecoinvent_names import activity_names

    # the stub's identities are real 3.10 ones
    assert {(n, p, loc) for n, p, loc, _, _ in STUB} <= activity_names("3.10")
    assert VERSIONS == ("3.9", "3.10", "3.11", "3.12")
    for version in VERSIONS:
        mapping = load_mapping(version)
        mappings, unmapped = mapping.entries, mapping.unmapped
        backgrounds = {m["background"] for m in mappings}
        assert {f"electricity-grid-{c}" for c in ("FR", "US", "DE", "GLO", "TW")} <= backgrounds
        assert "transport-lorry" in backgrounds and "hbm-memory-gb" in unmapped
        assert "NERC region" in unmapped["electricity-grid-US-TX"]
        assert next(m for m in mappings if m["background"] == "aluminium-kg")["note"].startswith("RoW market")
        assert {"electricity-grid-CA-QC", "electricity-grid-CA-NL", "metal-cobalt-primary"} <= backgrounds


def test_link_ecoinvent_replaces_mapped_providers_and_changes_nothing_else(ready_dir, tmp_path, capsys):
    build_stub()
    before = state_of_everything_else()
    report_csv = tmp_path / "link.csv"
    assert main(["link-ecoinvent", "--database", EI, "--report", str(report_csv)]) == 0
    out = capsys.readouterr().out
    assert f"Linked foreground '{LINKED}' to '{EI}'" in out
    assert "market for electricity, medium voltage [FR]" in out
    assert state_of_everything_else() == before  # ecoinvent and the user's other data untouched

    linked = bd.Database(LINKED)
    assert len(linked) == len(bd.Database("aicompute"))
    stub_keys = {(s[0], s[2]) for s in STUB}
    mapped = {m["background"]: (m["provider"]["name"], str(m["provider"]["location"])) for m in load_mapping("3.10").entries}
    replaced = kept = 0
    for ds in linked:
        for exc in ds.technosphere():
            assert exc.input["database"] != "aicompute", "the linked copy must not point back to the original foreground"
            src = exc.get("linked_from")
            if exc.input["database"] == EI:
                replaced += 1
                assert src and mapped[src.split(":")[1]] == (exc.input["name"], exc.input["location"])
            elif exc.input["database"] == "aicompute-background":
                kept += 1
                code = exc.input["code"]
                assert code not in mapped or mapped[code] not in stub_keys, f"{code} should have linked"
    assert replaced > 0 and kept > 0
    # water flows relinked by (name, categories, unit) to the ecoinvent biosphere
    dcop = bd.get_node(database=LINKED, code="datacenter-operation-FR")
    # and the location flow of the on-site water (water_scarcity) stays the package's own
    assert {e.input["database"] for e in dcop.biosphere()} == {EI_BIO, "aicompute-water-locations"}
    # results move as expected: 1 kWh of IT energy in FR = PUE 1.16 (ai-cluster profile) x 0.080 kg
    assert score(LINKED, "datacenter-operation-FR") == pytest.approx(1.16 * 0.080, rel=1e-5)
    assert score("aicompute", "datacenter-operation-FR") == pytest.approx(1.16 * score("aicompute-background", "electricity-grid-FR"), rel=1e-5)
    # an unmapped country keeps the open proxy
    assert score(LINKED, "datacenter-operation-KR") == pytest.approx(score("aicompute", "datacenter-operation-KR"), rel=1e-6)

    import csv

    rows = list(csv.DictReader(report_csv.open()))
    assert {r["status"] for r in rows} == {"replaced", "kept"}
    assert all(r["reason"] for r in rows if r["status"] == "kept")
    assert any("no activity 'market for electricity, medium voltage' [KR]" in r["reason"] for r in rows)
    assert any("per kg" in r["reason"] for r in rows)  # memory per GB has no ecoinvent basis
    # the stub's water flows have made-up codes: matched by name, and said so
    water = [r for r in rows if r["exchange type"] == "biosphere" and r["status"] == "replaced"]
    assert water and all(r["reason"].startswith("FALLBACK") for r in water)


def test_campaign_against_linked_background(ready_dir, capsys):
    build_stub()
    assert main(["link-ecoinvent", "--database", EI]) == 0
    open_ = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"])
    linked = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"], background="ecoinvent")
    assert linked.database != open_.database and open_.database in bd.databases
    e_open = open_.by_stage().loc["electricity", "climate"]
    e_linked = linked.by_stage().loc["electricity", "climate"]
    # the open campaign leaves the year open (the market of the latest years); the linked one
    # takes the release's French market (the stub's 0.080 kg/kWh)
    assert e_linked == pytest.approx(e_open * 0.080 / score(open_.database, "grid-open"), rel=1e-5)
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--background", "ecoinvent", "--indicator", "climate"]) == 0


def test_link_errors(ready_dir, capsys):
    assert main(["link-ecoinvent", "--database", "ecoinvent-9.9-cutoff"]) == 2
    assert "is not in project" in capsys.readouterr().err
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--background", "ecoinvent"]) == 2
    assert "no foreground is linked to ecoinvent yet" in capsys.readouterr().err
    bd.Database("my-ecoinvent").write({})
    assert main(["link-ecoinvent", "--database", "my-ecoinvent"]) == 2
    assert "cannot tell the ecoinvent version" in capsys.readouterr().err


@pytest.mark.parametrize("version", VERSIONS)
def test_every_mapped_activity_exists_in_its_release(version):
    """Each mapped (name, reference product, location) is among the activities of its release,
    derived from ecoinvent's public change reports (tests/ecoinvent_names.py)."""
    from ecoinvent_names import activity_names

    names = activity_names(version)
    mappings = load_mapping(version).entries
    mapped = {(m["provider"]["name"], m["provider"]["reference product"], str(m["provider"]["location"])) for m in mappings}
    assert len(mapped) >= 50
    assert sorted(mapped - names) == []


def test_derived_names_follow_the_change_reports():
    """The derivation itself, on the renames the mapping files document."""
    from ecoinvent_names import activity_names, renamed

    lorry = ("market group for transport, freight, lorry, unspecified", "transport, freight, lorry, unspecified", "GLO")
    assert lorry in activity_names("3.10") and lorry not in activity_names("3.11")
    assert renamed("3.10", lorry) == ("market group for transport, freight, lorry, diesel, unspecified", "transport, freight, lorry, diesel, unspecified", "GLO")
    assert ("market for aluminium, primary, ingot", "aluminium, primary, ingot", "GLO") not in activity_names("3.12")
    assert ("market for tantalum, powder, capacitor-grade", "tantalum, powder, capacitor-grade", "GLO") not in activity_names("3.9")


def stub_biosphere_311():
    """An ecoinvent-shaped biosphere named `ecoinvent-3.11-biosphere`: every flow of release 3.11
    (name, categories, unit, UUID as code) from its public flow list (tests/data/ecoinvent)."""
    import csv
    import gzip
    import io

    raw = gzip.decompress((Path(__file__).parent / "data" / "ecoinvent" / "flows_biosphere_311.csv.gz").read_bytes()).decode()
    data = {}
    for name, comp, sub, unit, uuid in csv.reader(io.StringIO(raw)):
        cats = (comp,) if sub in ("", "unspecified") else (comp, sub)
        kind = "natural resource" if comp == "natural resource" else "emission"
        data[("ecoinvent-3.11-biosphere", uuid)] = {"name": name, "categories": cats, "unit": unit, "type": kind, "exchanges": []}
    bd.Database("ecoinvent-3.11-biosphere").write(data)
    return data


def test_flows_link_by_uuid_then_change_reports_then_name(ready_dir):
    """Flows are matched by ecoinvent UUID first (a flow renamed with the same UUID, such as
    `Coal, hard, unspecified` -> `Coal, hard` in 3.10, still links), then through the change
    reports (a UUID replaced by another), and only then by name, categories and unit."""
    from bw_aicompute.linking import LinkReport, _Linker
    from bw_aicompute.project import flow_codes, flow_index, replacement_candidates

    flows = stub_biosphere_311()
    report = LinkReport(database="x", target="y", label="ecoinvent 3.11 cut-off mapping")
    linker = _Linker("aicompute", "x", "y", "ecoinvent-3.11-biosphere", {}, {}, {}, report,
                     flow_index("ecoinvent-3.11-biosphere"), flow_codes("ecoinvent-3.11-biosphere"), replacement_candidates())
    coal = next(f for f in bd.Database("biosphere3") if f["name"] == "Coal, hard, unspecified")
    code, how = linker._flow_match(coal, coal["code"], (coal["name"], tuple(coal["categories"]), coal["unit"]))
    assert how == "matched by UUID" and flows[("ecoinvent-3.11-biosphere", code)]["name"] == "Coal, hard"
    ore = next(f for f in bd.Database("biosphere3") if f["name"] == "Gold, Au 1.0E-7%, in mixed ore")
    code, how = linker._flow_match(ore, ore["code"], (ore["name"], tuple(ore["categories"]), ore["unit"]))
    assert how.startswith("matched by UUID after the biosphere change report") and flows[("ecoinvent-3.11-biosphere", code)]["name"] == "Gold"
    # every flow of the open inventories is in the 3.11 biosphere under its UUID
    used = {e.input["code"] for db in ("aicompute", "aicompute-background") for ds in bd.Database(db) for e in ds.biosphere() if e.input["database"] != "aicompute-water-locations"}
    assert used and used <= {code for _, code in flows}


def stub_ecoinvent_311_like_the_open_background():
    """`ecoinvent-3.11-cutoff` with the real 3.11 identities of the mapped activities, each
    emitting exactly the aggregated inventory of the open dataset it replaces, on the flows of
    `ecoinvent-3.11-biosphere` (same UUIDs): linked results can then differ only by lost factors."""
    import bw2calc as bc
    import numpy as np

    mappings = load_mapping("3.11").entries
    background = {ds["code"]: ds for ds in bd.Database("aicompute-background")}
    used = [m for m in mappings if m["background"] in background]
    lca = bc.LCA({background[used[0]["background"]]: 1})
    lca.lci()
    data = {}
    for i, m in enumerate(used):
        lca.lci({background[m["background"]].id: 1})
        totals = np.asarray(lca.inventory.sum(axis=1)).ravel()
        key, e = ("ecoinvent-3.11-cutoff", f"stub{i}"), m["provider"]
        excs = [{"input": key, "amount": 1.0, "type": "production"}]
        for row in np.flatnonzero(totals):
            flow = bd.get_node(id=lca.dicts.biosphere.reversed[row])
            if flow["database"] == "aicompute-water-locations":
                continue  # ecoinvent does not say where its water is consumed
            excs.append({"input": ("ecoinvent-3.11-biosphere", flow["code"]), "amount": float(totals[row]), "type": "biosphere"})
        data[key] = {"name": e["name"], "reference product": e["reference product"], "location": str(e["location"]), "unit": e["unit"], "type": "process", "exchanges": excs}
    bd.Database("ecoinvent-3.11-cutoff").write(data)


def test_methods_follow_an_ecoinvent_biosphere_imported_after_setup(ready_dir, capsys):
    """An ecoinvent biosphere imported after setup: linking makes our methods characterize its
    flows too, so a campaign on the linked background scores as on the open one on every
    indicator (no factor lost); a user's own method is never rewritten."""
    from bw_aicompute.methods import indicators

    user_method = bd.Method(("my method", "GWP"))
    user_method.register(unit="kg")
    user_method.write([(co2().id, 1.0)])
    before = (user_method.load(), json.dumps(bd.methods[("my method", "GWP")], sort_keys=True, default=str))
    # a user's process database whose name says "biosphere" is not taken for one
    bd.Database("my biosphere study").write({("my biosphere study", "a"): {"name": "a", "unit": "unit", "type": "process", "exchanges": []}})
    stub_biosphere_311()
    stub_ecoinvent_311_like_the_open_background()
    assert main(["link-ecoinvent", "--database", "ecoinvent-3.11-cutoff"]) == 0
    assert "methods updated to characterize the ecoinvent biosphere too" in capsys.readouterr().out
    names = list(indicators())
    example = EXAMPLES / "finetune_measured_ppa.yaml"
    open_ = assess(example, indicators=names).totals.set_index("indicator")["value"]
    linked = assess(example, indicators=names, background="ecoinvent").totals.set_index("indicator")["value"]
    for name in names:
        if name == "water_scarcity":
            # ecoinvent's grid water has no place: the world factor (17.83) instead of FR's (4.99)
            assert linked[name] > open_[name] * (1 + 1e-3)
            continue
        assert linked[name] == pytest.approx(open_[name], rel=1e-4), name
    assert (user_method.load(), json.dumps(bd.methods[("my method", "GWP")], sort_keys=True, default=str)) == before
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "characterizes biosphere3, ecoinvent-3.11-biosphere]" in out and "my biosphere study" not in out.split("Indicators:")[1]


def test_unknown_release_is_one_message_and_writes_nothing(ready_dir, capsys):
    build_stub()
    before = state_of_everything_else()
    assert main(["link-ecoinvent", "--database", EI, "--version", "3.8"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "aicompute: error: no mapping for ecoinvent 3.8; mappings exist for 3.9, 3.10, 3.11, 3.12"
    assert state_of_everything_else() == before and LINKED not in bd.databases
