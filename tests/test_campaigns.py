"""Training campaigns: published studies reproduced, outputs that add up, campaigns as ordinary
Brightway functional units, re-assessment that touches only the campaign, and bad input."""

import hashlib
import json
import shlex
import shutil
from pathlib import Path

import bw2calc as bc
import bw2data as bd
import openpyxl
import pytest
import yaml

from bw_aicompute import AicomputeError
from bw_aicompute.assessment import assess, per_unit
from bw_aicompute.campaign import read_campaign
from bw_aicompute.cli import main

EXAMPLES = Path(__file__).parents[1] / "examples"

# Luccioni et al. 2023 (JMLR 24(253)), Table 3: embodied 11.2 t, dynamic 24.69 t, idle 14.6 t,
# total 50.5 t CO2-eq
BLOOM = {"total": 50_500.0, "embodied": 11_200.0, "dynamic": 24_690.0, "idle": 14_600.0}


def values(a, indicator="climate"):
    rows = a.breakdown[a.breakdown["indicator"] == indicator]
    return rows


def test_bloom_reproduces_the_paper(ready_dir):
    a = assess(EXAMPLES / "bloom.yaml", indicators=["climate"])
    rows = values(a)
    total = float(a.totals.set_index("indicator").loc["climate", "value"])
    embodied = rows[rows["stage"].isin(["GPU manufacturing", "server, network and storage manufacturing"])]["value"].sum()
    dynamic = rows[(rows["phase"] == "final training") & (rows["stage"] == "electricity")]["value"].sum()
    idle = rows[rows["phase"] == "idle infrastructure"]["value"].sum()
    assert total == pytest.approx(BLOOM["total"], rel=0.02)
    assert embodied == pytest.approx(BLOOM["embodied"], rel=0.03)
    assert dynamic == pytest.approx(BLOOM["dynamic"], rel=0.03)
    assert idle == pytest.approx(BLOOM["idle"], rel=0.03)
    # and the arithmetic of the paper (published_studies.md 1.2): 433,196 kWh of dynamic energy
    phases = a.phases.set_index("phase")
    assert phases.loc["final training", "it_energy_kwh"] == pytest.approx(433_196, rel=1e-6)


def test_moshi_like_final_training_is_4_percent_and_outputs_add_up(ready_dir):
    a = assess(EXAMPLES / "moshi_like.yaml")
    shares = a.phases.set_index("phase")["gpu_time_share"]
    assert shares["final training"] == pytest.approx(0.04, abs=0.001)
    assert a.phases["gpu_hours"].sum() == pytest.approx(127 * 8 * 4370, rel=0.01)  # about six months on 1016 GPUs
    assert len(a.phases) == 9
    for r in a.totals.itertuples():
        assert r.value > 0, r.indicator
        part = a.breakdown[a.breakdown["indicator"] == r.indicator]["value"].sum()
        assert part == pytest.approx(r.value, rel=1e-6), r.indicator
    stages = a.by_stage()
    assert stages.loc["on-site water", "water"] > 0  # WUE 0.2 L/kWh evaporated on site
    assert stages.loc["GPU manufacturing", "adp_minerals"] > 0
    assert stages.loc["on-site water", "climate"] == pytest.approx(0.0, abs=1e-6 * a.totals["value"].iloc[0])


def test_report_prints_the_inputs_applied(ready_dir):
    """The report's `Inputs applied` block shows the power per GPU-hour that the phases really
    carry, its parts with where each comes from, and the site's values."""
    from bw_aicompute.applied import parameters, power_per_gpu_hour

    a = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"])
    params = parameters("aicompute")
    powers = {tuple(pw.phases): pw for pw in power_per_gpu_hour(a.model, params)}
    assert sum(len(p) for p in powers) == 9  # every modelled phase in one group or another
    for pw in powers.values():  # the parts give what was written (IT energy / GPU-hours)
        assert pw.it_w == pytest.approx(pw.applied_w, rel=1e-9)
    idle = powers[("idle reservation",)]
    assert idle.load_factor.value == 0.11 and idle.load_factor.origin == "campaign file"
    assert idle.node_share.origin == "default" and idle.node_share.value == params["node_overhead_share"][0]
    assert idle.node_overhead.value == 0  # no fixed draw unless a campaign gives one
    text = a.summary()
    block = text.split("Inputs applied", 1)[1].split("\nTotals", 1)[0]
    busy = next(pw for phases, pw in powers.items() if len(phases) == 8)
    assert f"= {busy.applied_w:,.0f} W of IT power; x PUE 1.17 (profile free-cooled-colocation) = {busy.applied_w * 1.17:,.0f} W" in block
    assert f"x (1 + node overhead share {params['node_overhead_share'][0]:,.4g} (default))" in block
    assert "grid: FR (France), year not given (site.grid_year): the mean of the mixes of 2021, 2022, 2023" in block and "WUE: 0.1 L per kWh of IT energy, consumption (profile" in block
    assert "hardware lifetime: 5.75 years (default)" in block


def test_documented_campaign_file_is_valid_and_shows_the_defaults(ready_dir, tmp_path):
    """The annotated campaign file of docs/campaigns.md reads as a campaign, and the values it
    shows for fields left to their defaults are the defaults really applied."""
    import re

    from bw_aicompute.applied import parameters

    text = (Path(__file__).parents[1] / "docs" / "campaigns.md").read_text()
    block = re.search(r"## Campaign file\n.*?```yaml\n(.*?)```", text, re.S).group(1)
    assert max(len(line) for line in block.splitlines()) <= 80  # no horizontal scroll on the site
    path = tmp_path / "documented.yaml"
    path.write_text(block)
    read_campaign(path)
    doc, params = yaml.safe_load(block), parameters("aicompute")
    p = {name: value for name, (value, _, _) in params.items()}
    assert doc["defaults"]["load_factor"] == pytest.approx(p["gpu_load_factor"])
    assert "node_overhead_w_per_gpu" not in doc["defaults"]  # an override; the default is the share
    assert doc["defaults"]["node_overhead_share"] == pytest.approx(p["node_overhead_share"])
    hw = doc["hardware"]
    assert hw["lifetime_years"] == pytest.approx(p["hw_lifetime_years"]) and hw["utilisation"] == pytest.approx(p["utilisation"])
    assert hw["switches_per_gpu"] == pytest.approx(p["switches_per_gpu"]) and hw["storage_tb_per_gpu"] == pytest.approx(p["storage_tb_per_gpu"])
    assert hw["gpus_per_node"] == p["h100_sxm_80gb_gpus_per_node"]
    assert doc["site"]["pue"] == pytest.approx(p["pue_colo_free_cooled"]) and doc["site"]["wue_l_per_kwh"] == pytest.approx(p["wue_colo_free_cooled_l_per_kwh"])


def test_campaign_is_an_ordinary_functional_unit(ready_dir):
    a = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"])
    node = bd.get_node(database=a.database, code="campaign")
    assert node["name"] == "campaign, moshi-like"
    phases = [e.input["name"] for e in node.technosphere()]
    assert len(phases) == 9 and all(p.startswith("phase, ") for p in phases)
    lca = bc.LCA({node: 1}, ("IPCC 2021", "climate change", "global warming potential (GWP100)"))
    lca.lci()
    lca.lcia()
    assert lca.score == pytest.approx(float(a.totals["value"].iloc[0]), rel=1e-6)
    # any installed method solves it
    ced = ("Cumulative Energy Demand (CED)", "total", "energy content (HHV)")
    b = assess(EXAMPLES / "moshi_like.yaml", indicators=[], methods=[ced])
    lca.switch_method(ced)
    lca.lcia()
    assert b.totals["value"].iloc[0] == pytest.approx(lca.score, rel=1e-6) and lca.score > 0


def test_grid_year_selects_that_years_mix(ready_dir, tmp_path, capsys):
    """site.grid_year: the electricity of the campaign is that year's mix of the country (its
    own datacenter operation), equal to IT energy x PUE x one kWh of that year's grid; the latest
    year is the default mix itself; a year without data is refused with the years available;
    sweeps vary it."""
    from bw_aicompute.sweeps import parse_vary, sweep

    doc = {"campaign": {"name": "grid year"}, "site": {"country": "FR", "grid_year": 2022}, "hardware": {"gpu": "H100 SXM 80GB"},
           "phases": [{"name": "training", "kind": "pretraining", "gpu_hours": 10000}]}
    path = tmp_path / "year.yaml"
    path.write_text(yaml.safe_dump(doc))
    a = assess(path, indicators=["climate"])
    dcop = bd.get_node(database=a.database, code="datacenter-operation")
    assert [e.input["code"] for e in dcop.technosphere()] == ["electricity-grid-FR-2022"] and dcop["location"] == "FR"
    grid = bd.get_node(database="aicompute-background", code="electricity-grid-FR-2022")
    lca = bc.LCA({grid: 1}, tuple(a.totals["method"].iloc[0]))
    lca.lci()
    lca.lcia()
    it = a.phases["it_energy_kwh"].sum()
    electricity = a.breakdown.set_index(["stage", "indicator"]).loc[("electricity", "climate"), "value"]
    assert float(electricity.sum()) == pytest.approx(it * 1.16 * lca.score, rel=1e-5)
    assert "generation mix of 2022 (site.grid_year; latest 2023)" in a.summary()
    doc["site"]["grid_year"] = 2014
    path.write_text(yaml.safe_dump(doc))
    assert main(["assess", str(path)]) == 2
    assert "field 'site.grid_year': no generation mix of 2014 for FR; years available: 2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023" in capsys.readouterr().err
    doc["site"]["grid_year"] = 2023  # the latest: the shipped site of the country
    path.write_text(yaml.safe_dump(doc))
    assert read_campaign(path).site.grid_year is None
    s = sweep([path], [parse_vary("site.grid_year=2021,2022,2023")], indicators=["climate"])
    by_year = s.table.set_index("site.grid_year")["climate"]
    assert by_year[2022] > by_year[2021] and by_year[2022] > by_year[2023]  # France's nuclear outages of 2022


def test_grid_override_and_measured_energy(ready_dir):
    a = assess(EXAMPLES / "finetune_measured_ppa.yaml", indicators=["climate", "water_consumption"])
    db = bd.Database(a.database)
    grid = bd.get_node(database=a.database, code="grid")
    co2 = [e for e in grid.biosphere() if e.input["name"] == "Carbon dioxide, fossil"]
    assert len(co2) == 1 and co2[0]["amount"] == pytest.approx(0.011)
    # the other flows are the aggregated inventory of the German mix, without its other gases
    names = {e.input["name"] for e in grid.biosphere()}
    assert "Coal, hard, unspecified" in names and "Uranium" in names and "Methane, fossil" not in names
    dcop = bd.get_node(database=a.database, code="datacenter-operation")
    assert [e.input.key for e in dcop.technosphere()] == [grid.key]
    phases = a.phases.set_index("phase")
    assert phases.loc["fine-tuning", "it_energy_kwh"] == pytest.approx(366.0)
    assert bool(phases.loc["fine-tuning", "energy_measured"])
    # power model for the evaluation: 8 GPUs x 6 h x 700 W x 0.6 x (1 + node overhead share 0.43) / 1000
    assert phases.loc["evaluation", "it_energy_kwh"] == pytest.approx(48 * 700 * 0.6 * 1.43 / 1000)
    rows = a.breakdown.set_index(["phase", "stage", "indicator"])["value"]
    assert rows[("fine-tuning", "electricity", "climate")] == pytest.approx(366 * 1.10 * 0.011, rel=1e-5)
    water = a.totals.set_index("indicator").loc["water_consumption", "value"]
    assert rows[("fine-tuning", "electricity", "water_consumption")] == pytest.approx(0.0, abs=1e-9 * abs(water))
    assert len(db) >= 6


def test_a_us_state_grid(ready_dir, tmp_path):
    """A campaign can run on a sub-national grid (US-TX), whose electricity is that grid's (of
    2023, its dataset's year, named: an open year is the mean of 2022-2024, test_states)."""
    doc = {"campaign": {"name": "texas"}, "site": {"country": "us-tx", "grid_year": 2023}, "hardware": {"gpu": "H100 SXM 80GB"},
           "phases": [{"name": "run", "kind": "pretraining", "gpu_hours": 1000}]}
    path = tmp_path / "texas.yaml"
    path.write_text(yaml.safe_dump(doc))
    a = assess(path, indicators=["climate"])
    dcop = bd.get_node(database=a.database, code="datacenter-operation")
    assert [e.input["code"] for e in dcop.technosphere()] == ["electricity-grid-US-TX"]
    assert a.by_stage().loc["electricity", "climate"] > 0


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_reassessing_an_edited_file_replaces_only_that_campaign(ready_dir, tmp_path):
    assess(EXAMPLES / "bloom.yaml", indicators=["climate"])
    first = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"])
    others = {name: digest(bd.Database(name).filepath_processed()) for name in bd.databases if name != first.database}
    others_meta = {name: json.dumps(bd.databases[name], sort_keys=True, default=str) for name in others}
    doc = yaml.safe_load((EXAMPLES / "moshi_like.yaml").read_text())
    final = next(p for p in doc["phases"] if p["name"] == "final training")
    final["hours"] *= 2
    edited = tmp_path / "moshi_edited.yaml"
    edited.write_text(yaml.safe_dump(doc))
    with pytest.raises(AicomputeError, match="already used in project 'aicompute' by .*moshi_like.yaml.*--replace"):
        assess(edited, indicators=["climate"])  # another file with the same campaign name
    second = assess(edited, indicators=["climate"], replace=True)
    assert second.database == first.database
    assert {name: digest(bd.Database(name).filepath_processed()) for name in others} == others
    assert {name: json.dumps(bd.databases[name], sort_keys=True, default=str) for name in others} == others_meta
    f1 = values(first).query("phase == 'final training'")["value"].sum()
    f2 = values(second).query("phase == 'final training'")["value"].sum()
    assert f2 == pytest.approx(2 * f1, rel=1e-6)
    assert len(bd.Database(first.database)) == len(bd.Database(second.database))


def test_cli_outputs_json_excel_plot(ready_dir, tmp_path, capsys):
    out_json, out_xlsx, out_png = tmp_path / "r.json", tmp_path / "r.xlsx", tmp_path / "r.png"
    rc = main(["assess", str(EXAMPLES / "moshi_like.yaml"), "--json", str(out_json), "--excel", str(out_xlsx), "--plot", str(out_png)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Campaign: moshi-like" in out and "By phase" in out and "By life-cycle stage" in out
    data = json.loads(out_json.read_text())
    assert data["campaign"] == "moshi-like"
    assert set(data["totals"]) == {"climate", "water", "adp_minerals"}
    for ind, t in data["totals"].items():
        assert set(t) == {"value", "unit", "method"}
        assert sum(r["value"] for r in data["rows"] if r["indicator"] == ind) == pytest.approx(t["value"], rel=1e-6)
    assert {r["stage"] for r in data["rows"]} == {
        "GPU manufacturing",
        "server, network and storage manufacturing",
        "datacenter infrastructure",
        "electricity",
        "on-site water",
    }
    import openpyxl

    wb = openpyxl.load_workbook(out_xlsx)
    assert {"Totals", "Breakdown", "By phase", "By stage", "Phases", "Inputs", "Inventory", "Activities"} <= set(wb.sheetnames)
    totals = {row[0]: row[1] for row in wb["Totals"].iter_rows(min_row=2, values_only=True)}
    assert totals["climate"] == pytest.approx(data["totals"]["climate"]["value"], rel=1e-9)
    assert wb.sheetnames[0] == "Summary" and wb["Totals"].freeze_panes == "B2"
    summary = [row for row in wb["Summary"].iter_rows(values_only=True) if row[0] == "total"][0]
    assert summary[2] == pytest.approx(totals["climate"], rel=1e-9) and summary[3] == 1.0  # climate, its share
    assert [c.value for c in wb["By stage"][1]][1] == "climate (kg CO2-Eq)"  # units in the headers
    applied = {row[0]: row for row in wb["Applied inputs"].iter_rows(min_row=2, values_only=True)}
    assert applied["PUE"][1] == pytest.approx(1.17) and applied["PUE"][3].startswith("profile free-cooled-colocation")
    assert applied["hw_lifetime_years"][1] == 5.75 and applied["hw_lifetime_years"][3] == "default" and applied["hw_lifetime_years"][4]
    # printable: every sheet landscape, fitted to the page width, its columns within a page width
    # that keeps the print scale at 0.75 or more (8 pt text; checked in LibreOffice as PDF)
    from bw_aicompute.excel.layout import PAGE_WIDTH

    for ws in wb:
        width = sum(ws.column_dimensions[c.column_letter].width or 8 for c in next(ws.iter_rows(max_row=max(ws.max_row, 1))))
        assert width <= PAGE_WIDTH and ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1, ws.title
    header = [c for c in wb["Summary"][6] if c.value]
    assert header[0].value == "phase" and all(c.alignment.wrap_text for c in header)  # the units wrap under the names
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out_png.stat().st_size > 20_000


def test_excel_template_round_trip(ready_dir, tmp_path):
    import openpyxl

    template = tmp_path / "campaign.xlsx"
    assert main(["template", str(template)]) == 0
    with pytest.raises(AicomputeError, match=r"sheet 'campaign', row 2, column 'value' \(field campaign.name\): is required"):
        assess(template)  # the blank template: the first required cell is named
    wb = openpyxl.load_workbook(template)
    doc = yaml.safe_load((EXAMPLES / "bloom.yaml").read_text())

    def fill(sheet, values_):
        ws = wb[sheet]
        for row in ws.iter_rows(min_row=2):
            if row[0].value in values_:
                row[1].value = values_[row[0].value]

    fill("campaign", doc["campaign"])
    site = {k: v for k, v in doc["site"].items() if k != "grid"}
    site.update({f"grid_{k}": v for k, v in doc["site"]["grid"].items()})
    fill("site", site)
    hw = {k: v for k, v in doc["hardware"].items() if not k.endswith("_embodied")}
    for part in ("gpu_embodied", "server_embodied"):
        hw.update({f"{part}_{k}": v for k, v in doc["hardware"][part].items()})
    fill("hardware", hw)
    fill("defaults", doc["defaults"])
    ws = wb["phases"]
    header = [c.value for c in ws[1]]
    for p in doc["phases"]:
        ws.append([p.get(h) for h in header])
    wb.save(template)
    from_xlsx = assess(template, indicators=["climate"])
    from_yaml = assess(EXAMPLES / "bloom.yaml", indicators=["climate"], replace=True)
    assert from_xlsx.totals["value"].iloc[0] == pytest.approx(from_yaml.totals["value"].iloc[0], rel=1e-9)


def test_python_api_returns_dataframes(ready_dir):
    import pandas as pd

    a = assess(EXAMPLES / "bloom.yaml", indicators=["climate", "water_consumption"])
    assert isinstance(a.totals, pd.DataFrame) and isinstance(a.breakdown, pd.DataFrame)
    assert list(a.totals["indicator"]) == ["climate", "water_consumption"]
    assert set(a.breakdown.columns) == {"phase", "stage", "indicator", "value", "unit"}
    assert a.by_phase().shape == (2, 2)


# ---------------------------------------------------------------------------------------------
# bad input: one message naming the file, the field and the problem; exit 2; nothing written


def bad(tmp_path, edit):
    doc = yaml.safe_load((EXAMPLES / "moshi_like.yaml").read_text())
    edit(doc)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def set_phase(i, **kw):
    def edit(doc):
        doc["phases"][i].update(kw)

    return edit


CASES = [
    ("unknown GPU", lambda d: d["hardware"].update(gpu="H100 SMX 80GB"), "hardware.gpu", "unknown GPU model 'H100 SMX 80GB'; closest: H100 SXM 80GB"),
    ("unknown country", lambda d: d["site"].update(country="FX"), "site.country", "unknown country 'FX'"),
    ("unknown profile", lambda d: d["site"].update(profile="hyperscale"), "site.profile", "did you mean 'hyperscaler'"),
    ("negative hours", set_phase(0, hours=-5), "phases[1] (text LM pretraining).hours", "must be positive, got -5"),
    ("zero nodes", set_phase(1, nodes=0), "phases[2] (audio codec training).nodes", "must be positive, got 0"),
    ("contradictory compute", set_phase(2, gpu_hours=1000), "phases[3] (audio pretraining).nodes", "contradicts phases[3] (audio pretraining).gpu_hours"),
    ("no compute", lambda d: d["phases"][3].pop("nodes") and d["phases"][3].pop("hours"), "phases[4] (ablations and hyperparameter search)", "has no compute"),
    ("missing name", lambda d: d["campaign"].pop("name"), "campaign.name", "is required"),
    ("unit typo", set_phase(4, energy="12 MWhh"), "phases[5] (failed and restarted runs).energy", "unknown unit 'MWhh' (did you mean 'MWh'?)"),
    ("field typo", set_phase(5, gpu_hour=10), "phases[6].gpu_hour", "unknown field (did you mean 'gpu_hours'?)"),
    ("unknown kind", set_phase(6, kind="finetuning"), "phases[7] (evaluation).kind", "did you mean 'fine-tuning'"),
    ("share above 1", set_phase(7, load_factor=1.5), "phases[8] (final training).load_factor", "at most 1"),
    ("PUE below 1", lambda d: d["site"].update(pue=0.9), "site.pue", "at least 1"),
]


@pytest.mark.parametrize("label, edit, field, problem", CASES, ids=[c[0] for c in CASES])
def test_bad_campaign_is_refused_with_one_message(bw_dir, tmp_path, capsys, label, edit, field, problem):
    path = bad(tmp_path, edit)
    assert main(["assess", str(path), "--project", "fresh"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"aicompute: error: {path}: field '{field}': ")
    assert problem in err
    assert "Traceback" not in err
    assert "fresh" not in bd.projects  # nothing written: not even the project


def test_bad_campaign_in_a_set_up_project_writes_nothing(ready_dir, tmp_path, capsys):
    before = {n: json.dumps(bd.databases[n], sort_keys=True, default=str) for n in bd.databases}
    path = bad(tmp_path, lambda d: d["hardware"].update(gpu="Z100"))
    assert main(["assess", str(path)]) == 2
    assert {n: json.dumps(bd.databases[n], sort_keys=True, default=str) for n in bd.databases} == before


def test_unreadable_campaign_files(bw_dir, tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("campaign: {name: x\nphases: [")
    assert main(["assess", str(broken)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["assess", str(tmp_path / "missing.yaml")]) == 2
    assert "campaign file not found" in capsys.readouterr().err
    with pytest.raises(AicomputeError, match="unknown file type"):
        read_campaign(shutil.copy(broken, tmp_path / "x.txt"))


def test_unknown_indicator_and_method(ready_dir, capsys):
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--indicator", "climat"]) == 2
    assert "unknown indicator 'climat'" in capsys.readouterr().err
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--method", "IPCC 2021 | climate change | GWP100"]) == 2
    assert "closest installed: IPCC 2021 | climate change | global warming potential (GWP100)" in capsys.readouterr().err


def test_shipped_template_has_every_section():
    import openpyxl

    from bw_aicompute.campaign.workbook import PHASE_COLUMNS, TEMPLATE

    wb = openpyxl.load_workbook(EXAMPLES / "campaign_template.xlsx")
    assert set(TEMPLATE) | {"phases"} == set(wb.sheetnames)
    for sheet, rows in TEMPLATE.items():
        assert [r[0].value for r in wb[sheet].iter_rows(min_row=2)] == [k for k, _ in rows]
    assert [c.value for c in wb["phases"][1]] == PHASE_COLUMNS


def test_campaign_survives_a_rewrite_of_the_inventories(ready_dir):
    """Rewriting the inventories gives their nodes new ids: the campaign database that links to
    them is re-processed by setup, and still solves."""
    from bw_aicompute import setup_project
    from bw_aicompute.ownership import OWNER_KEY

    before = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"])
    for name in ("aicompute-background", "aicompute"):
        bd.databases[name][OWNER_KEY]["fingerprint"] = "outdated"
    bd.databases.flush()
    report = setup_project("aicompute")
    assert (before.database, "updated") in {(i.name, i.action) for i in report.items}
    node = bd.get_node(database=before.database, code="campaign")
    lca = bc.LCA({node: 1}, ("IPCC 2021", "climate change", "global warming potential (GWP100)"))
    lca.lci()
    lca.lcia()
    assert lca.score == pytest.approx(float(before.totals["value"].iloc[0]), rel=1e-6)


def _rows(db: str) -> tuple[list, list, list]:
    """The raw rows of a database in the project's SQLite file (pickles as bytes) and what a
    search of it finds, ids left out."""
    from bw2data.backends import ActivityDataset as AD

    sql = AD._meta.database.execute_sql
    acts = sorted(sql("SELECT code, location, name, product, type, data FROM activitydataset WHERE database = ?", (db,)).fetchall())
    excs = sorted(sql("SELECT input_database, input_code, output_code, type, data FROM exchangedataset WHERE output_database = ?", (db,)).fetchall())
    return acts, excs, sorted(a["code"] for a in bd.Database(db).search("h100", limit=None))


def test_bulk_inserts_write_the_rows_bw2data_writes(ready_dir):
    """A campaign written with `bulk_inserts` (sqlite3's executemany) holds the same rows, byte
    for byte, and the same search index as bw2data's own `insert_many` writes; peewee's
    `insert_many` is back afterwards, also after an error; bw2data's typo checks, skipped for
    campaigns, find nothing in one."""
    import warnings

    from bw2data.backends import ActivityDataset as AD
    from bw2data.backends import ExchangeDataset as ED
    from bw2data.backends.typos import check_activity_keys, check_activity_type, check_exchange_keys, check_exchange_type

    from bw_aicompute.bulk import bulk_inserts

    ours = bd.Database("aicompute").load()  # written by setup, with bulk_inserts
    assert len(ours) > 125 and sum(len(ds["exchanges"]) for ds in ours.values()) > 1000  # many batches
    bulk = _rows("aicompute")
    bd.Database("aicompute").write(ours)  # peewee's insert_many
    assert _rows("aicompute") == bulk and len(bulk[2]) > 3
    data = bd.Database(assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"]).database).load()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for ds in data.values():
            check_activity_type(ds.get("type"))
            check_activity_keys({k: v for k, v in ds.items() if k != "exchanges"})
            for exc in ds["exchanges"]:
                check_exchange_type(exc["type"])
                check_exchange_keys(exc)
    with pytest.raises(RuntimeError), bulk_inserts():
        assert "insert_many" in AD.__dict__
        raise RuntimeError
    assert not {"insert_many"} & (set(AD.__dict__) | set(ED.__dict__))


def test_campaigns_render_the_inventory_templates(ready_dir, tmp_path):
    """One GPU-hour model: a campaign of one GPU-hour at a shipped site scores as the shipped
    GPU-hour dataset, and a template formula changed in a copy of inventories/ moves both."""
    from bw_aicompute._resources import data_dir
    from bw_aicompute.assessment import solve
    from bw_aicompute.campaign import write_campaign
    from bw_aicompute.inventory import install
    from bw_aicompute.lca import method_for, score_table
    from bw_aicompute.setup import SetupReport

    doc = {"campaign": {"name": "one hour"}, "site": {"country": "DE", "grid_year": 2023}, "hardware": {"gpu": "H100 SXM 80GB"}, "phases": [{"name": "p", "kind": "pretraining", "gpu_hours": 1}]}
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(doc))
    resolved = [method_for("climate"), method_for("water")]

    def campaign_and_shipped(inventories=None):
        a = solve(write_campaign(read_campaign(path), "biosphere3", inventories=inventories), resolved)
        hour = bd.get_node(database="aicompute", code="gpu-hour-h100_sxm_80gb-DE")
        shipped = score_table({"hour": hour}, ["climate", "water"]).loc["hour"]
        for label in ("climate", "water"):
            assert a.totals.set_index("indicator").loc[label, "value"] == pytest.approx(shipped[label], rel=1e-6)
        return a

    before = campaign_and_shipped()
    inventories = tmp_path / "inventories"
    shutil.copytree(data_dir("inventories"), inventories)
    text = (inventories / "datacenter.yaml").read_text()
    energy = '"({gpu}_tdp_w * gpu_load_factor * (1 + node_overhead_share * {gpu}_host_share) + node_overhead_w_per_gpu) / 1000"'
    server = '"1 / ({gpu}_gpus_per_node * hw_lifetime_years * 8760 * utilisation)"'
    assert energy in text and server in text
    text = text.replace(energy, '"2 * ({gpu}_tdp_w * gpu_load_factor * (1 + node_overhead_share * {gpu}_host_share) + node_overhead_w_per_gpu) / 1000"')
    text = text.replace(server, '"3 / ({gpu}_gpus_per_node * hw_lifetime_years * 8760 * utilisation)"')
    (inventories / "datacenter.yaml").write_text(text)
    install(bd, "biosphere3", SetupReport("aicompute", ready_dir, False), directory=inventories)
    after = campaign_and_shipped(inventories)

    assert after.phases["it_energy_kwh"].iloc[0] == pytest.approx(2 * before.phases["it_energy_kwh"].iloc[0])
    b, c = before.by_stage(), after.by_stage()
    assert c.loc["electricity", "climate"] == pytest.approx(2 * b.loc["electricity", "climate"], rel=1e-6)
    assert c.loc["server, network and storage manufacturing", "climate"] > 2 * b.loc["server, network and storage manufacturing", "climate"]
    assert c.loc["GPU manufacturing", "climate"] == pytest.approx(b.loc["GPU manufacturing", "climate"], rel=1e-6)


@pytest.mark.parametrize("example", ["moshi_like.yaml", "bloom.yaml", "finetune_measured_ppa.yaml", "moshi_like_serving.yaml", "bloom_api_serving.yaml"])
def test_readme_example_outputs_are_reproduced(ready_dir, capsys, example):
    """The example outputs printed in the documentation (docs/campaigns.md) are the regression
    test of the whole chain."""
    import re

    readme = (Path(__file__).parents[1] / "docs" / "campaigns.md").read_text()
    block = re.search(r"```\n\$ aicompute assess examples/" + re.escape(example) + r"([^\n]*)\n(.*?)```", readme, re.S)
    args = ["assess", str(EXAMPLES / example), *shlex.split(block.group(1))]
    assert main(args) == 0
    printed = capsys.readouterr().out.rstrip().splitlines()
    expected = block.group(2).rstrip().splitlines()
    assert printed[: len(expected)] == expected


def test_brightway_recalculates_a_campaign_without_changing_it(ready_dir):
    """The campaign's formulas name parameters of `aicompute`: its group resolves them there (no
    copies in the campaign database), so Brightway's recalculation (what Activity Browser runs
    after an edit) leaves every amount as written, and an edit of a parameter of `aicompute`
    reaches the campaign's exchanges."""
    from bw2data.backends import ExchangeDataset as ED
    from bw2data.parameters import ActivityParameter, DatabaseParameter, Group

    db = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"]).database
    amounts = lambda: {k: v["amount"] for k, v in ED.select(ED.id, ED.data).where(ED.output_database == db).tuples()}  # noqa: E731
    formulas = {k: v["formula"] for k, v in ED.select(ED.id, ED.data).where(ED.output_database == db).tuples() if "formula" in v}
    before = amounts()
    groups = [g.name for g in Group.select().where(Group.name.startswith(f"{db}::"))]
    assert groups == [f"{db}::exchanges"] and ActivityParameter.get(group=groups[0]).database == "aicompute"
    assert DatabaseParameter.select().where(DatabaseParameter.database == db).count() == 0
    Group.update(fresh=False).where(Group.name.in_(groups + [db])).execute()
    bd.parameters.recalculate()
    ActivityParameter.recalculate(groups[0])
    assert amounts() == pytest.approx(before, rel=1e-12)
    p = DatabaseParameter.get(database="aicompute", name="gpu_load_factor")
    p.amount *= 0.5
    p.save()
    bd.parameters.recalculate()
    after = amounts()
    changed = {k for k in formulas if "gpu_load_factor" in formulas[k]}
    assert changed and all(after[k] != pytest.approx(before[k], rel=1e-6) for k in changed)
    assert all(after[k] == pytest.approx(before[k], rel=1e-12) for k in before if k not in formulas)


def test_relative_phases(ready_dir, tmp_path):
    """`gpu_hours: 20% of final training` and `10% of all` (the phases given in absolute
    terms); shares of each other in a circle are refused."""
    doc = yaml.safe_load((EXAMPLES / "moshi_like.yaml").read_text())
    doc["phases"] += [
        {"name": "extra failed runs", "kind": "failed or restarted run", "gpu_hours": "20% of final training"},
        {"name": "extra debugging", "kind": "debugging", "gpu_hours": "10 % of all"},
    ]
    path = tmp_path / "relative.yaml"
    path.write_text(yaml.safe_dump(doc))
    a = assess(path, indicators=["climate"], replace=True).phases.set_index("phase")["gpu_hours"]
    absolute = a.drop(["extra failed runs", "extra debugging"])
    assert a["extra failed runs"] == pytest.approx(0.2 * a["final training"])
    assert a["extra debugging"] == pytest.approx(0.1 * absolute.sum())
    doc["phases"][-1]["gpu_hours"] = "50% of extra failed runs"
    doc["phases"][-2]["gpu_hours"] = "50% of extra debugging"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(AicomputeError, match=r"phases.*in a circle: extra (failed runs|debugging) -> "):
        read_campaign(path)


def test_market_based_beside_location_based(ready_dir, tmp_path, capsys):
    """An 80 % wind PPA: the location-based totals stay as they are; the market-based climate is
    the location-based total minus 80 % of the electricity stage plus 80 % of the grid kWh (IT
    energy x PUE) at the wind dataset's footprint (bw2calc LCA of one kWh)."""
    doc = yaml.safe_load((EXAMPLES / "moshi_like.yaml").read_text())
    plain = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"])
    doc["campaign"]["name"] = "moshi-like ppa"
    doc["site"]["electricity_contract"] = {"type": "PPA", "technology": "wind", "share": 0.8, "source": "test"}
    path = tmp_path / "ppa.yaml"
    path.write_text(yaml.safe_dump(doc))
    a = assess(path, indicators=["climate"])
    location = float(a.totals["value"].iloc[0])
    assert location == pytest.approx(float(plain.totals["value"].iloc[0]), rel=1e-9)
    wind = bd.get_node(database="aicompute-background", code="electricity-wind")
    lca = bc.LCA({wind: 1}, ("IPCC 2021", "climate change", "global warming potential (GWP100)"))
    lca.lci()
    lca.lcia()
    kwh = a.phases["it_energy_kwh"].sum() * 1.17  # PUE of the free-cooled-colocation profile
    electricity = float(a.by_stage().loc["electricity", "climate"])
    assert a.market_based["value"].iloc[0] == pytest.approx(location - 0.8 * electricity + 0.8 * kwh * lca.score, rel=1e-5)
    assert a.to_dict()["totals_market_based"]["climate"]["value"] == a.market_based["value"].iloc[0]
    doc["site"]["electricity_contract"]["technology"] = "fusion"
    path.write_text(yaml.safe_dump(doc))
    assert main(["assess", str(path)]) == 2
    assert "site.electricity_contract.technology" in capsys.readouterr().err


def test_template_drop_downs_cells_and_booleans(tmp_path, capsys):
    """The template offers drop-down lists; a workbook's error names sheet, row and column; a
    boolean cell takes TRUE/FALSE or 1/0."""
    import openpyxl

    path = tmp_path / "c.xlsx"
    assert main(["template", str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    assert wb["lists"].sheet_state == "hidden"
    validations = {(ws.title, str(dv.sqref)): dv.formula1 for ws in wb for dv in ws.data_validations.dataValidation}
    countries = [c.value for c in wb["lists"]["A"][1:]]
    assert "DE" in countries and validations[("site", "B2")] == f"lists!$A$2:$A${len(countries) + 1}"
    kinds_column = validations[("phases", "B2:B1000")].split("$")[1]  # lists!$F$2:$F$9 -> F
    assert wb["lists"][f"{kinds_column}2"].value == "pretraining"
    wb["campaign"]["B2"], wb["site"]["B2"], wb["site"]["B4"], wb["hardware"]["B2"] = "c", "FR", 0.5, "H100 SXM 80GB"
    wb["hardware"]["B16"] = 0  # datacenter_infrastructure
    wb["phases"].append(["p1", "pretraining", None, None, 100])
    wb.save(path)
    with pytest.raises(AicomputeError, match=r"c.xlsx: sheet 'site', row 4, column 'value' \(field site.pue\): must be at least 1"):
        read_campaign(path)
    wb["site"]["B4"] = None
    wb.save(path)
    assert read_campaign(path).hardware.datacenter_infrastructure is False


def test_serving_per_functional_unit(ready_dir, tmp_path):
    """A deployment: its own activity (not part of the campaign), scored by bw2calc as the
    serving total; per request = serving / requests served (modelled: tokens/s x GPUs x hours x
    utilisation / tokens per request); amortised adds training / amortise_over; break-even =
    training / serving per request."""
    doc = yaml.safe_load((EXAMPLES / "moshi_like_serving.yaml").read_text())
    doc["deployment"]["amortise_over"] = "1e9 requests"
    path = tmp_path / "serving.yaml"
    path.write_text(yaml.safe_dump(doc))
    a = assess(path, indicators=["climate", "water"])
    plain = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"])
    assert a.totals.set_index("indicator").loc["climate", "value"] == pytest.approx(plain.totals["value"].iloc[0], rel=1e-9)
    node = bd.get_node(database=a.database, code="serving")
    assert node["gpu_hours"] == pytest.approx(16 * 12 * 730.5)
    lca = bc.LCA({node: 1}, ("IPCC 2021", "climate change", "global warming potential (GWP100)"))
    lca.lci()
    lca.lcia()
    requests = 1000 * 16 * 12 * 730.5 * 3600 * 0.3 / 400
    pu = a.per_unit.set_index("indicator").loc["climate"]
    assert pu["units_served"] == pytest.approx(requests) and pu["serving_total"] == pytest.approx(lca.score, rel=1e-6)
    assert pu["serving_per_unit"] == pytest.approx(lca.score / requests, rel=1e-6)
    assert pu["amortised_per_unit"] == pytest.approx(lca.score / requests + pu["training_total"] / 1e9, rel=1e-6)
    assert pu["break_even_units"] * pu["serving_per_unit"] == pytest.approx(pu["training_total"], rel=1e-9)
    assert a.to_dict()["per_unit"][0]["indicator"] == "climate"
    serving_gpu_hours = 16 * 12 * 730.5 * 0.3
    tokens = per_unit(a, "1000 tokens").set_index("indicator").loc["climate"]  # 1e9 requests = 4e8 x 1,000 tokens
    assert tokens["units_served"] == pytest.approx(1000 * serving_gpu_hours * 3600 / 1000) and tokens["amortised_over"] == pytest.approx(4e8)
    assert tokens["serving_per_unit"] == pytest.approx(lca.score / tokens["units_served"], rel=1e-6)
    audio = per_unit(a, "hour of audio").set_index("indicator").loc["climate"]  # 4.7 h of audio per serving GPU-hour
    assert audio["units_served"] == pytest.approx(4.7 * serving_gpu_hours) and audio["serving_total"] == pytest.approx(lca.score, rel=1e-6)
    assert audio["it_energy_kwh_per_unit"] == pytest.approx(node["it_energy_kwh"] / audio["units_served"])
    with pytest.raises(AicomputeError, match="declares request, 1000 tokens, hour of audio, not 'image'"):
        per_unit(a, "image")
    mc = assess(path, indicators=["climate"], iterations=40, seed=1, replace=True).per_unit.iloc[0]
    assert 0 < mc["serving_per_unit p2_5"] < mc["serving_per_unit p97_5"] and mc["amortised_per_unit p2_5"] > mc["serving_per_unit p2_5"]
    doc["deployment"].pop("tokens_per_second_per_gpu")
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(AicomputeError, match="deployment.tokens_per_second_per_gpu"):
        read_campaign(path)


def test_serving_measured_from_a_power_log_and_a_request_log(ready_dir, tmp_path):
    """One GPU logged every second for an hour at 400 W (0.4 kWh); 300 requests every 4 s from
    the start (the last at 1,196 s) and none after: 2,404 s idle between requests (gaps over
    60 s). IT energy = 0.4 kWh measured + the node overhead modelled for 1 GPU-hour."""
    start = 1_780_000_000
    (tmp_path / "power.csv").write_text("timestamp,power_w,gpu\n" + "".join(f"{start + s},400,0\n" for s in range(3601)))
    from datetime import datetime, timezone

    stamps = [datetime.fromtimestamp(start + 4 * k, tz=timezone.utc).isoformat() for k in range(300)]
    (tmp_path / "requests.csv").write_text("timestamp,tokens\n" + "".join(f"{t},400\n" for t in stamps))
    doc = yaml.safe_load((EXAMPLES / "bloom.yaml").read_text())
    doc["campaign"]["name"] = "measured serving"
    doc["deployment"] = {"gpu": "H100 SXM 80GB", "telemetry": "power.csv", "request_log": "requests.csv", "unit": "request"}
    path = tmp_path / "serving.yaml"
    path.write_text(yaml.safe_dump(doc))
    c = read_campaign(path)
    d = c.deployment
    assert d.measured_gpu_kwh == pytest.approx(0.4) and d.hours == pytest.approx(1.0) and d.units_served == 300
    assert f"idle between requests (gaps over 60 s) {2404 / 3600:.3g} h of 1 h" in d.throughput
    a = assess(path, indicators=["climate"])
    node = bd.get_node(database=a.database, code="serving")
    assert node["it_energy_kwh"] == pytest.approx(0.4 * 1.43, rel=1e-9)  # GPU energy + the node's share 0.43 of it
    pu = a.per_unit.iloc[0]
    assert pu["serving_per_unit"] == pytest.approx(pu["serving_total"] / 300, rel=1e-9)
    doc["deployment"].pop("request_log")
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(AicomputeError, match="deployment.request_log"):
        read_campaign(path)


def test_bloom_api_per_request_as_published(ready_dir, tmp_path):
    """examples/bloom_api_serving.yaml, the BLOOM inference API with the study's inputs (864.249
    kWh measured, 394 g/kWh, 230,768 requests; bigscience-workshop/carbon-footprint,
    bloom_api_carbon.ipynb): the study's result, 340.514 kg CO2-eq, is 1.4756 g per request; the
    serving file's own site (Iowa) is used for the serving, the training keeps France."""
    published, requests = 340.514, 230_768
    a = assess(EXAMPLES / "bloom_api_serving.yaml", indicators=["climate"])
    pu = a.per_unit.iloc[0]
    assert pu["units_served"] == requests and pu["serving_total"] == pytest.approx(published, rel=0.05)
    assert pu["serving_per_unit"] == pytest.approx(published / requests, rel=0.05)
    assert pu["it_energy_kwh_per_unit"] == pytest.approx(864.249 / requests, rel=1e-6)
    assert pu["training_total"] == pytest.approx(50_500, rel=0.01)  # BLOOM's final training, 50.5 t (Table 3)
    assert pu["amortised_per_unit"] == pytest.approx((published + 50_500) / requests, rel=0.05)
    assert bd.get_node(database=a.database, code="serving-grid")["location"] == "US-IA"
    assert bd.get_node(database=a.database, code="grid")["location"] == "FR"
    a.to_excel(tmp_path / "api.xlsx")  # the sheet a user reads: quantities down, indicators across, then the deployment
    rows = list(openpyxl.load_workbook(tmp_path / "api.xlsx")["Per unit"].iter_rows(values_only=True))
    assert rows[0][:2] == ("quantity", "climate (kg CO2-Eq)") and rows[3][:2] == ("serving per request", pytest.approx(pu["serving_per_unit"]))
    assert ("units served", 230768, "requests") in rows and ("IT energy per request", pytest.approx(864.249 / requests * 1000), "Wh (before the PUE)") in rows


def test_serving_file_errors(ready_dir, tmp_path, capsys):
    """A serving file names a training campaign file without a deployment; every problem is one
    message naming the field, exit 2, and nothing is written."""
    shutil.copy(EXAMPLES / "bloom.yaml", tmp_path / "bloom.yaml")
    shutil.copy(EXAMPLES / "moshi_like_serving.yaml", tmp_path / "with_deployment.yaml")
    doc = yaml.safe_load((EXAMPLES / "bloom_api_serving.yaml").read_text())
    path = tmp_path / "api.yaml"
    before = set(bd.databases)
    cases = [
        ({"serves": "missing.yaml"}, "field 'serves': .*missing.yaml: training campaign file not found"),
        ({"serves": "api.yaml"}, "field 'serves': this is a serving file"),
        ({"serves": "with_deployment.yaml"}, "has a deployment of its own"),
        ({"phases": []}, "unknown field"),
        ({"deployment": {**doc["deployment"], "unit": "image"}}, "field 'deployment.images': is required for the functional unit 'image'"),
        ({"deployment": {**doc["deployment"], "amortise_over": "1e9 images"}}, "field 'deployment.amortise_over': is given in images, which the deployment does not serve"),
    ]
    for change, message in cases:
        path.write_text(yaml.safe_dump({**doc, **change}))
        assert main(["assess", str(path)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and str(path) in err, err
        assert __import__("re").search(message, err), err
    path.write_text(yaml.safe_dump(doc))
    assert main(["assess", str(path), "--per", "image"]) == 2
    assert "deployment 'BLOOM API on GCP' declares request, not 'image'" in capsys.readouterr().err
    assert set(bd.databases) == before


@pytest.mark.parametrize("given, requests", [("1e9", 1e9), (2e9, 2e9), ("4e11 tokens", 1e9), ("1e9 requests", 1e9), ("4.7e6 hours of audio", None)])
def test_amortise_over_a_number_or_a_number_and_a_unit(tmp_path, given, requests):
    """`amortise_over` in the deployment's unit (a number, or `1e9` that YAML reads as text) or in
    any unit it serves, converted with the ratio of the units served (400 tokens a request)."""
    doc = yaml.safe_load((EXAMPLES / "moshi_like_serving.yaml").read_text())
    doc["deployment"]["amortise_over"] = given
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    d = read_campaign(path).deployment
    expected = requests if requests is not None else 4.7e6 * d.served["request"] / d.served["hour of audio"]
    assert d.amortise_over("request") == pytest.approx(expected)
    assert d.amortise_over("1000 tokens") == pytest.approx(expected * 400 / 1000)


def test_deployment_gpus_from_nodes(tmp_path):
    """`nodes` x the GPUs per node (the file's hardware.gpus_per_node, else the inventories' 8
    for an H100 SXM); `gpus` and `nodes` together are refused; a batch size is reported."""
    doc = yaml.safe_load((EXAMPLES / "moshi_like_serving.yaml").read_text())
    doc["deployment"].pop("gpus")
    doc["deployment"].update(nodes=3, batch_size=64)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    d = read_campaign(path).deployment
    assert d.gpus == 24 and "at batch size 64" in d.throughput
    assert d.served["1000 tokens"] == pytest.approx(1000 * 24 * 12 * 730.5 * 3600 * 0.3 / 1000)
    doc["hardware"]["gpus_per_node"] = 4
    path.write_text(yaml.safe_dump(doc))
    assert read_campaign(path).deployment.gpus == 12
    doc["deployment"]["gpus"] = 16
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(AicomputeError, match="deployment.gpus.*one of them"):
        read_campaign(path)


@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "unreadable", "missing"])
def test_files_a_campaign_names_are_readable_regular_files(ready_dir, tmp_path, capsys, kind):
    """`serves:`, `telemetry:` and `request_log:` resolve relative to the campaign file and are
    refused, naming the field, when they are not a readable regular file (a pipe would be read
    forever); nothing is written."""
    import os

    target = tmp_path / "named"
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target = Path("/dev/zero")
    elif kind == "unreadable":
        target.write_text("x")
        target.chmod(0)
        if os.access(target, os.R_OK):  # root reads anything
            pytest.skip("running as root: every file is readable")
    cases = {
        "serves": {"serves": str(target), "deployment": {"gpus": 1, "duration": "1 h", "requests": 10, "energy": "1 kWh"}},
        "deployment.request_log": {"campaign": {"name": "t"}, "site": {"country": "FR"}, "hardware": {"gpu": "H200"}, "phases": [{"name": "p", "kind": "debugging", "gpu_hours": 10}],
                                   "deployment": {"telemetry": str(Path(__file__).parent / "data" / "h200_training_nvidia_smi.csv"), "request_log": str(target)}},
        "phases[1] (p).telemetry.file": {"campaign": {"name": "t"}, "site": {"country": "FR"}, "hardware": {"gpu": "H200"}, "phases": [{"name": "p", "kind": "debugging", "telemetry": str(target)}]},
    }
    for field, doc in cases.items():
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(doc))
        assert main(["assess", str(path), "--indicator", "climate"]) == 2
        err = capsys.readouterr().err
        assert f"field '{field}'" in err and err.count("\n") == 1, err
    assert not any(name.startswith("aicompute-campaign-t") for name in bd.databases)


def test_telemetry_path_is_relative_to_the_campaign_file(ready_dir, tmp_path, monkeypatch):
    """A relative `telemetry:` path is read from the campaign file's folder, not the working one."""
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "h200_training_nvidia_smi.csv", folder / "log.csv")
    doc = {"campaign": {"name": "relative log"}, "site": {"country": "FR"}, "hardware": {"gpu": "H200"}, "phases": [{"name": "run", "kind": "fine-tuning", "telemetry": "log.csv"}]}
    (folder / "c.yaml").write_text(yaml.safe_dump(doc))
    monkeypatch.chdir(tmp_path)
    c = read_campaign(folder / "c.yaml")
    assert c.phases[0].measured_gpu_kwh > 0


def test_an_output_that_is_a_symlink_is_replaced_never_written_through(ready_dir, tmp_path):
    """`--json out.json --force` where out.json links to a file elsewhere: the link becomes the
    output file, the file it pointed to is untouched."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "precious.json"
    victim.write_text("keep me")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    link = out_dir / "r.json"
    link.symlink_to(victim)
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--indicator", "climate", "--json", str(link)]) == 2  # exists: --force
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--indicator", "climate", "--json", str(link), "--force"]) == 0
    assert victim.read_text() == "keep me" and not link.is_symlink() and json.loads(link.read_text())["totals"]["climate"]["value"] > 0
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.json"]  # no temporary file left there either


def test_norway_unquoted_is_one_message_that_says_why(tmp_path, capsys):
    path = tmp_path / "no.yaml"
    path.write_text("campaign:\n  name: n\nsite:\n  country: NO\nhardware:\n  gpu: H100 SXM 80GB\nphases:\n  - name: t\n    kind: pretraining\n    gpu_hours: 10\n")
    assert main(["assess", str(path)]) == 2
    err = capsys.readouterr().err
    assert "field 'site.country': must be text, not False" in err and "'NO'" in err and "Traceback" not in err
