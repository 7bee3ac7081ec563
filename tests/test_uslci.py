"""USLCI as an open background: the real USLCI documents (a vendored subset,
tests/data/uslci-subset/, made by its make_subset.py) read by bw2io's JSON-LD importer, the
foreground linked to them by the same code as ecoinvent, and a campaign assessed against them."""

import csv
from pathlib import Path

import bw2calc as bc
import bw2data as bd
import numpy as np
import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.methods import indicators
from bw_aicompute.uslci import USLCI_BIOSPHERE, USLCI_DB

ROOT = Path(__file__).parents[1]
SUBSET = Path(__file__).parent / "data" / "uslci-subset"
LINKED = "aicompute-linked-" + USLCI_DB
#: Ember, US total 2010, emissions intensity of generation (direct combustion, gCO2/kWh;
#: ember-data-api api_country_overview_yearly.csv, CC BY 4.0): an independent figure. USLCI's
#: grid adds upstream fuel chains (coal-mine methane, gas production) and grid losses to it.
EMBER_US_2010_KG_PER_KWH = 0.57081
NAMES = ["climate", "water", "water_scarcity", "adp_minerals", "adp_fossil", "energy"]


def us_campaign(tmp_path: Path) -> Path:
    """moshi_like in the US without a state or year: its grid is the foreground's US grid,
    which the USLCI mapping replaces."""
    doc = yaml.safe_load((ROOT / "examples" / "moshi_like.yaml").read_text())
    doc["site"] = {"country": "US"}
    doc["campaign"]["name"] = "moshi in the US"
    path = tmp_path / "moshi_us.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def product(name: str):
    return next(a for a in bd.Database(USLCI_DB) if a["name"].strip() == name and a["type"] == "product")


def test_uslci_imported_with_bw2io_and_linked(ready_dir, tmp_path, capsys):
    """`link-uslci --source`: bw2io's JSONLDImporter reads the upgraded documents; every process
    makes one product, every edge is linked (cut-offs counted), a kWh stays a kWh (bw2io's
    conversion to MJ is labelled MJ), and USLCI's US grid of 2010 is within 0-35% above Ember's
    direct intensity of that year (upstream chains and losses on top of combustion)."""
    report = tmp_path / "link.csv"
    assert main(["link-uslci", "--source", str(SUBSET), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "40 processes, 40 products in aicompute-uslci" in out and "exchanges now link to USLCI" in out
    kinds = [a["type"] for a in bd.Database(USLCI_DB)]
    assert kinds.count("process") == kinds.count("product") == 40
    for act in (a for a in bd.Database(USLCI_DB) if a["type"] == "process"):
        assert len(list(act.production())) == 1, act["name"]
        assert {e.input["database"] for e in act.biosphere()} <= {"biosphere3", USLCI_BIOSPHERE}
    grid = product("Electricity, at Grid, US, 2010")
    assert grid["unit"] == "megajoule"
    assert next(iter(next(a for a in bd.Database(USLCI_DB) if a["name"] == grid["name"] and a["type"] == "process").production()))["amount"] == pytest.approx(3.6)
    lca = bc.LCA({grid: 3.6}, method=indicators()["climate"].method)
    lca.lci()
    lca.lcia()
    assert EMBER_US_2010_KG_PER_KWH < lca.score < 1.35 * EMBER_US_2010_KG_PER_KWH
    lca.switch_method(indicators()["energy"].method)
    lca.lcia()
    assert lca.score > 3.6  # primary energy of a kWh of fossil and nuclear power: more than 3.6 MJ
    rows = list(csv.DictReader(report.open()))
    replaced = {r["original provider"]: r["new provider"] for r in rows if r["status"] == "replaced"}
    assert replaced["market for electricity, grid mix [US]"] == "Electricity, at Grid, US, 2010"
    assert replaced["transport, freight, lorry [GLO]"] == "Transport, combination truck, diesel powered"
    kept = {r["original provider"]: r["reason"] for r in rows if r["status"] == "kept"}
    assert kept["market for electricity, grid mix [FR]"] == "USLCI covers the United States only"


def test_a_campaign_assessed_against_uslci(ready_dir, tmp_path, capsys):
    """`assess --background uslci`: the campaign's electricity is IT energy x PUE x USLCI's
    US grid (solved alone), every indicator is finite and not negative, and the report names
    the grid it used."""
    assert main(["link-uslci", "--source", str(SUBSET)]) == 0
    path = us_campaign(tmp_path)
    assert main(["assess", str(path), "--background", "uslci"]) == 0
    assert "'Electricity, at Grid, US, 2010' of aicompute-uslci" in capsys.readouterr().out.replace("\n   ", "")
    a = assess(path, indicators=NAMES, background="uslci")
    assert a.model.foreground == LINKED
    values = a.totals.set_index("indicator")["value"]
    assert np.isfinite(values).all() and (values >= 0).all()
    lca = bc.LCA({product("Electricity, at Grid, US, 2010"): 3.6}, method=indicators()["climate"].method)
    lca.lci()
    lca.lcia()
    electricity = a.breakdown.set_index(["stage", "indicator"]).loc[("electricity", "climate"), "value"]
    it = a.phases["it_energy_kwh"].sum()
    assert float(electricity.sum()) == pytest.approx(it * 1.16 * lca.score, rel=1e-5)
    open_ = assess(path, indicators=["climate"]).totals["value"].iloc[0]
    assert values["climate"] > open_  # the US grid of 2010 (43% coal) against the 2023 states' mixes


def test_uslci_refusals(ready_dir, tmp_path, capsys):
    """Bad input: one message, exit status 2, nothing written; a user's database named like
    ours is refused and left as it was."""
    before = sorted(bd.databases)
    assert main(["link-uslci"]) == 2
    assert "give --source FOLDER" in capsys.readouterr().err
    assert main(["link-uslci", "--source", str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "bad.zip").write_text("not a zip")
    assert main(["link-uslci", "--source", str(tmp_path / "bad.zip")]) == 2
    assert "not a folder or a zip" in capsys.readouterr().err
    assert main(["assess", str(us_campaign(tmp_path)), "--background", "uslci"]) == 2
    assert "no foreground is linked to uslci yet; run: aicompute link-uslci" in capsys.readouterr().err
    assert sorted(bd.databases) == before
    bd.Database(USLCI_DB).write({(USLCI_DB, "mine"): {"name": "my process", "unit": "kilogram", "exchanges": []}})
    meta = dict(bd.databases[USLCI_DB])
    assert main(["link-uslci", "--source", str(SUBSET)]) == 2
    assert "aicompute-uslci" in capsys.readouterr().err
    assert dict(bd.databases[USLCI_DB]) == meta and [a["name"] for a in bd.Database(USLCI_DB)] == ["my process"]
