"""What Brightway's and Activity Browser's own calculations give with our data, without our
command line: parameter Monte Carlo as Activity Browser runs it (issue 40)."""

import sys
from pathlib import Path

import bw2data as bd
import numpy as np
import pandas as pd
import pytest
import yaml
from bw2data.parameters import ActivityParameter, DatabaseParameter, Group

from bw_aicompute.assessment import assess
from bw_aicompute.methods import resolve_indicator

sys.path.insert(0, str(Path(__file__).parent))
import parameter_montecarlo  # noqa: E402

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
INDICATORS = ["climate", "water", "adp_minerals", "water_scarcity"]


def iowa_moshi(tmp_path: Path) -> Path:
    """moshi_like in Iowa in 2024: its grid is composed in the campaign, so the campaign's
    formulas name parameters of `aicompute` and of `aicompute-background` (hydropower)."""
    doc = yaml.safe_load((EXAMPLES / "moshi_like.yaml").read_text())
    doc["site"] = {"country": "US-IA", "grid_year": 2024}
    doc["campaign"]["name"] = "moshi in Iowa"
    path = tmp_path / "moshi_iowa.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_activity_browser_parameter_monte_carlo_agrees_with_assess(ready_dir, tmp_path):
    """Activity Browser's Monte Carlo with parameters (each activity group's formulas evaluated
    with the parameters of its group's database, drawn once per iteration; the other exchanges
    drawn by bw2calc) gives the same means and spreads as `assess --iterations` on every
    indicator. Before issue 40 the campaign's own parameter copies had no distributions and
    constant formulas replaced the draws of their parameters: spreads 0.5-0.77 of ours on
    climate, water and ADP, 1.6 on water scarcity."""
    a = assess(iowa_moshi(tmp_path), indicators=INDICATORS, iterations=1000, seed=5)
    ours = a.uncertainty.totals
    db = a.model.database
    groups = {(p.group, p.database) for p in ActivityParameter.select() if p.group.startswith(db)}
    assert groups == {(f"{db}::exchanges", "aicompute"), (f"{db}::exchanges::aicompute-background", "aicompute-background")}
    demand = {bd.get_node(database=db, code=a.model.key[1]).id: 1}
    theirs = parameter_montecarlo.totals(demand, [resolve_indicator(i).method for i in INDICATORS], 200, seed=7)
    for j, name in enumerate(INDICATORS):
        m1, s1, m2, s2 = ours[:, j].mean(), ours[:, j].std(ddof=1), theirs[:, j].mean(), theirs[:, j].std(ddof=1)
        z = (m1 - m2) / np.hypot(s1 / np.sqrt(len(ours)), s2 / np.sqrt(len(theirs)))
        assert abs(z) < 4, (name, m1, m2, z)
        assert 0.8 < s2 / s1 < 1.25, (name, s1, s2)  # the standard error of s2 / s1 is 0.05 here


def test_a_campaign_without_formulas(ready_dir):
    """`assess --no-formulas`: the same amounts as numbers, nothing for Brightway to
    recalculate, and the parameters' distributions no longer reach the campaign."""
    path = EXAMPLES / "moshi_like.yaml"
    a = assess(path, iterations=300, seed=2)
    b = assess(path, iterations=300, seed=2, formulas=False)
    assert b.totals["value"].to_numpy() == pytest.approx(a.totals["value"].to_numpy(), rel=1e-9)
    db = b.model.database
    assert bd.databases[db]["formulas"] is False
    assert not any("formula" in e for act in bd.Database(db) for e in act.exchanges())
    assert not [g for g in Group.select() if g.name.startswith(f"{db}::")]
    spread = lambda r: r.uncertainty.totals.std(axis=0) / r.uncertainty.totals.mean(axis=0)  # noqa: E731
    # ADP's spread came in part from the campaign's load factor and overhead (a: 0.113, b: 0.078);
    # climate's is the French grid's exchange distributions, drawn in both
    assert (spread(b) < 1.05 * spread(a)).all() and spread(b)[2] < 0.85 * spread(a)[2]


def test_a_parameter_computed_from_numbers_keeps_its_distribution(ready_dir):
    """A parameter whose formula names no parameter (a ratio of published figures) is written as
    its amount, the arithmetic kept as `expression`: Brightway and Activity Browser evaluate
    formulas after drawing, which would replace the draw."""
    p = DatabaseParameter.get(database="aicompute", name="wue_ai_cluster_l_per_kwh")
    assert p.formula is None and p.data["expression"] == "66e9 / 176e9"
    assert p.amount == pytest.approx(0.375) and p.data["uncertainty type"] == 10


def plain_bw2io_import(workbook: Path, methods: Path) -> list[str]:
    """What a user without bw_aicompute runs (docs/clients.md): bw2io's own biosphere, every
    sheet of the workbook in order, then every method workbook; the databases imported."""
    import json

    import bw2io as bi

    bi.create_default_biosphere3()
    fields = ("name", "reference product", "unit", "location")
    from openpyxl import load_workbook

    sheets = load_workbook(workbook, read_only=True).sheetnames
    for sheet in sheets:
        imp = bi.ExcelImporter(str(workbook), sheet_name=sheet)
        imp.apply_strategies()
        for other in [*bd.databases, None]:
            if other not in ("biosphere3", "aicompute-water-locations"):
                imp.match_database(other, fields=fields)
        if "aicompute-water-locations" in bd.databases:
            imp.match_database("aicompute-water-locations", fields=("name", "categories", "unit"), edge_kinds=["biosphere"])
        assert not list(imp.unlinked), sheet
        imp.write_database()
    for m in json.loads((methods / "methods.json").read_text()):
        imp = bi.ExcelLCIAImporter(str(methods / m["file"]), tuple(m["name"]), m["description"], m["unit"])
        imp.apply_strategies()
        assert imp.all_linked, m["indicator"]
        imp.write_methods()
    return sheets


def test_plain_bw2io_imports_the_workbook_and_methods_and_reproduces_every_indicator(ready_dir, tmp_path):
    """`export-inventories --campaign`: in a project never touched by bw_aicompute, bw2io's own
    calls import the location flows, the inventories, the campaign and the ten methods (custom
    ones included), and bw2calc gives `assess`'s totals on every indicator."""
    from bw_aicompute.cli import main
    from bw_aicompute.methods import indicators

    names = list(indicators())
    path = EXAMPLES / "moshi_like.yaml"
    expected = assess(path, indicators=names).totals.set_index("indicator")["value"]
    out = tmp_path / "inventories.xlsx"
    assert main(["export-inventories", str(out), "--campaign", str(path)]) == 0
    bd.projects.set_current("never-touched")
    sheets = plain_bw2io_import(out, tmp_path / "inventories-methods")
    assert sheets == ["aicompute-water-locations", "aicompute-background", "aicompute", "aicompute-campaign-moshi-like"]
    assert "aicompute" not in bd.projects.current and bd.databases["aicompute"].get("bw_aicompute") is None
    fu = next(a for a in bd.Database("aicompute-campaign-moshi-like") if a["name"].startswith("campaign, "))
    import bw2calc as bc

    lca = bc.LCA({fu: 1}, method=indicators()["climate"].method)
    lca.lci()
    for name in names:
        lca.switch_method(indicators()[name].method)
        lca.lcia()
        assert lca.score == pytest.approx(expected[name], rel=1e-6), name
    bd.projects.set_current("aicompute")


def test_datapackages_solve_with_bw2calc_alone(ready_dir, tmp_path):
    """`export-datapackage --campaign`: bw_processing datapackages with a datapackage.json
    (version, CC BY-SA 4.0, citation, sources) that bw2calc solves in a process where bw2data
    cannot be imported, giving `assess`'s totals on every indicator."""
    import json
    import subprocess
    import zipfile

    from bw_aicompute import __version__
    from bw_aicompute.cli import main
    from bw_aicompute.methods import indicators

    names = list(indicators())
    path = EXAMPLES / "moshi_like.yaml"
    a = assess(path, indicators=names)
    expected = a.totals.set_index("indicator")["value"]
    folder = tmp_path / "release"
    assert main(["export-datapackage", str(folder), "--campaign", str(path)]) == 0
    meta = json.loads(zipfile.ZipFile(folder / "bw_aicompute-inventories.zip").read("datapackage.json"))
    assert meta["version"] == __version__ and meta["licenses"][0]["name"] == "CC-BY-SA-4.0"
    assert "bw_aicompute" in meta["citation"] and any("gpu-calculator" in s["path"] for s in meta["sources"])
    fu = bd.get_node(database=a.model.database, code=a.model.key[1]).id
    script = (
        "import sys, json; sys.modules['bw2data'] = None\n"
        "import bw_processing as bwp, bw2calc as bc\n"
        "from fsspec.implementations.zip import ZipFileSystem as Z\n"
        "folder, fu, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]\n"
        "inv = bwp.load_datapackage(Z(folder + '/bw_aicompute-inventories.zip'))\n"
        "out = {}\n"
        "for n in names:\n"
        "    lca = bc.LCA({fu: 1}, data_objs=[inv, bwp.load_datapackage(Z(folder + f'/bw_aicompute-method-{n}.zip'))])\n"
        "    lca.lci(); lca.lcia(); out[n] = lca.score\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(folder), str(fu), *names], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    scores = json.loads(done.stdout.strip().splitlines()[-1])
    for name in names:
        assert scores[name] == pytest.approx(expected[name], rel=1e-6), name
    nodes = pd.read_csv(zipfile.ZipFile(folder / "bw_aicompute-inventories.zip").open("nodes.csv"))
    activities = nodes[nodes["database"].isin(["aicompute", "aicompute-background", a.model.database])]
    assert len(activities) == sum(len(bd.Database(d)) for d in ["aicompute", "aicompute-background", a.model.database])
    assert activities["ISIC rev.4"].str.match(r"^\d{4}:").all() and activities["CPC"].str.match(r"^\d{4,5}: ").all()


def test_project_archive_restores_with_bw2io(ready_dir, tmp_path):
    """`export-project`: bw2io's own restore gives a project with the shipped databases and
    methods, whose GPU-hour scores equal those of the project `aicompute setup` writes; the
    user's projects are untouched."""
    import bw2calc as bc
    from bw2io.backup import restore_project_directory

    from bw_aicompute.cli import main
    from bw_aicompute.lca import method_for

    before = sorted(p.name for p in bd.projects)
    out = tmp_path / "aicompute.tar.gz"
    assert main(["export-project", str(out)]) == 0
    assert sorted(p.name for p in bd.projects) == before
    method = method_for("climate")[1]
    key = ("aicompute", "gpu-hour-h100_sxm_80gb-FR")
    lca = bc.LCA({bd.get_node(database=key[0], code=key[1]): 1}, method=method)
    lca.lci()
    lca.lcia()
    restore_project_directory(out, project_name="restored")
    bd.projects.set_current("restored")
    assert {"aicompute", "aicompute-background", "aicompute-water-locations"} <= set(bd.databases) and method in bd.methods
    restored = bc.LCA({bd.get_node(database=key[0], code=key[1]): 1}, method=method)
    restored.lci()
    restored.lcia()
    assert restored.score == pytest.approx(lca.score, rel=1e-9)
    node = bd.get_node(database=key[0], code=key[1])
    assert dict(node["classifications"])["CPC"].startswith("83159")
    bd.projects.set_current("aicompute")


def test_every_activity_has_isic_and_cpc(ready_dir, tmp_path):
    """Every activity of the inventories and of a campaign carries an ISIC Rev.4 and a CPC
    classification, in the form ecoinvent's datasets have them in Brightway, from
    inventories/classifications/isic-cpc.yaml; titles are those of the published schemes."""
    from bw_aicompute.classifications import _table

    _, isic, cpc = _table()
    db = assess(iowa_moshi(tmp_path), indicators=["climate"]).model.database
    for name in ("aicompute-background", "aicompute", db):
        for act in bd.Database(name):
            systems = dict(act["classifications"])
            assert set(systems) == {"ISIC rev.4 ecoinvent", "CPC"}, act.key
            code, title = systems["CPC"].split(": ", 1)
            assert cpc[code] == title and systems["ISIC rev.4 ecoinvent"].split(":", 1)[0] in isic
    grid = bd.get_node(database="aicompute-background", code="electricity-grid-FR")
    assert grid["classifications"] == [("ISIC rev.4 ecoinvent", "3510:Electric power generation, transmission and distribution"), ("CPC", "17100: Electrical energy")]


def test_citation_file_names_this_release():
    """CITATION.cff gives the version of the package and the licences of code and data."""
    import tomllib

    from bw_aicompute import __version__

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert cff["version"] == version == __version__
    assert cff["license"] == "BSD-3-Clause" and "CC BY-SA 4.0" in cff["abstract"]
