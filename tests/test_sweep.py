"""Sweeps: variants written into one database and solved together give what assessing each
variant's file alone gives; bad variations fail before anything is written; Dask runs give the
local numbers."""

import json
from pathlib import Path

import bw2data as bd
import numpy as np
import openpyxl
import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.sweeps import parse_vary, sweep

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_variants_equal_their_files_assessed_alone(ready_dir, tmp_path):
    s = sweep([EXAMPLES / "moshi_like.yaml"], ["hardware.gpu=H100 SXM 80GB,B200", "site.country=FR,US"], indicators=["climate", "water"])
    assert len(s.table) == 4 and list(s.table["site.country"]) == ["FR", "US", "FR", "US"]
    doc = yaml.safe_load((EXAMPLES / "moshi_like.yaml").read_text())
    doc["hardware"]["gpu"], doc["site"]["country"] = "B200", "US"
    alone = tmp_path / "b200_us.yaml"
    alone.write_text(yaml.safe_dump(doc))
    expected = assess(alone, indicators=["climate", "water"]).totals.set_index("indicator")["value"]
    row = s.table.iloc[3]
    assert row["climate"] == pytest.approx(expected["climate"], rel=1e-6)
    assert row["water"] == pytest.approx(expected["water"], rel=1e-6)
    assert row["climate"] > 3 * s.table.iloc[2]["climate"]  # the US grid against the French
    ours = [d for d in bd.databases if d.startswith(("aicompute-sweep-", "aicompute-campaign-"))]
    assert sorted(ours) == ["aicompute-campaign-moshi-like", "aicompute-sweep-moshi-like"]  # the file alone; all variants
    codes = {a["code"].split("-")[0] for a in bd.Database("aicompute-sweep-moshi-like")}
    assert codes == {"v0", "v1", "v2", "v3"}


def test_scores_solved_together_equal_bw2calcs_multilca(ready_dir):
    """`lca.multi_scores` (one solve of the transposed technosphere per method) gives bw2calc's
    MultiLCA numbers for unit demands and for demands of several nodes and amounts."""
    import bw2calc as bc

    from bw_aicompute.lca import method_for, multi_scores

    a = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"])
    nodes = [bd.get_node(database=a.database, code=pm.key[1]) for pm in a.model.phases]
    demands = {"campaign": {bd.get_node(database=a.database, code=a.model.key[1]).id: 1.0}, **{f"phase {k}": {n.id: 1.0} for k, n in enumerate(nodes)}}
    demands["mixed"] = {nodes[0].id: 2.5, nodes[-1].id: -0.75, bd.get_node(database="aicompute-background", code=next(iter(bd.Database("aicompute-background"))).key[1]).id: 3.0}
    methods = [method_for(i)[1] for i in ("climate", "water", "adp_minerals")]
    config = {"impact_categories": methods}
    mlca = bc.MultiLCA(demands=demands, method_config=config, data_objs=bd.get_multilca_data_objs(demands, config))
    mlca.lci()
    mlca.lcia()
    ours = multi_scores(demands, methods)
    assert set(ours) == set(mlca.scores)
    for key, value in mlca.scores.items():
        assert ours[key] == pytest.approx(value, rel=1e-9, abs=1e-12 * max(abs(v) for v in mlca.scores.values()))
    assert ours[(methods[0], "campaign")] > 0


def test_every_phase_and_a_folder(ready_dir, tmp_path):
    for name, hours in (("a", 100), ("b", 200)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({
            "campaign": {"name": f"campaign {name}"}, "site": {"country": "FR"}, "hardware": {"gpu": "H100 SXM 80GB"},
            "phases": [{"name": "p1", "kind": "pretraining", "gpus": 8, "hours": hours}, {"name": "p2", "kind": "evaluation", "gpus": 8, "hours": hours}],
        }))
    s = sweep([tmp_path], ["phases.*.hours=10,20"], indicators=["climate"], name="two files")
    assert list(s.table["campaign"]) == ["campaign a", "campaign a", "campaign b", "campaign b"]
    assert list(s.table["gpu_hours"]) == pytest.approx([160, 320, 160, 320])
    assert s.table["climate"].iloc[1] == pytest.approx(2 * s.table["climate"].iloc[0], rel=1e-6)
    with pytest.raises(Exception, match="--name"):
        sweep([tmp_path], indicators=["climate"])


def test_cli_outputs_and_bad_input(ready_dir, tmp_path, capsys):
    out_json, out_xlsx = tmp_path / "s.json", tmp_path / "s.xlsx"
    assert main(["sweep", str(EXAMPLES / "bloom.yaml"), "--vary", "site.pue=1.1,1.3", "--indicator", "climate", "--json", str(out_json), "--excel", str(out_xlsx)]) == 0
    out = capsys.readouterr().out
    assert "Sweep: BLOOM" in out and "2 variants" in out
    data = json.loads(out_json.read_text())
    assert [v["site.pue"] for v in data["variants"]] == [1.1, 1.3] and data["units"]["climate"] == "kg CO2-Eq"
    assert data["variants"][1]["climate"] > data["variants"][0]["climate"]
    wb = openpyxl.load_workbook(out_xlsx, read_only=True)
    assert wb.sheetnames == ["Sweep", "Units"]
    before = set(bd.databases)
    for vary, message in (("site.country", "FIELD=VALUE1,VALUE2"), ("hardware.gpu=Z100", "variant hardware.gpu=Z100"), ("phases.9.hours=1", "not an index")):
        assert main(["sweep", str(EXAMPLES / "bloom.yaml"), "--vary", vary]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert set(bd.databases) == before
    assert parse_vary("site.pue=1.1, 1.2").values == [1.1, 1.2]


def test_dask_local_cluster_gives_the_local_numbers(ready_dir):
    """A distributed.LocalCluster of 2 worker processes: same Monte Carlo as in-process for the
    same seed, same sweep scores."""
    pytest.importorskip("distributed")
    from bw_aicompute import uncertainty

    from distributed import LocalCluster

    n = uncertainty.CHUNK + 10
    local = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"], iterations=n, seed=3)
    remote = assess(EXAMPLES / "moshi_like.yaml", indicators=["climate"], iterations=n, seed=3, dask="local")
    assert remote.uncertainty.chunks == [(0, 2), (1, 2)]
    assert np.array_equal(local.uncertainty.totals, remote.uncertainty.totals)
    s_local = sweep([EXAMPLES / "bloom.yaml"], ["site.country=FR,US"], indicators=["climate"])
    # the sweep on a cluster given by its address (a second LocalCluster would cost seconds more)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        s_remote = sweep([EXAMPLES / "bloom.yaml"], ["site.country=FR,US"], indicators=["climate"], dask=cluster.scheduler_address)
    assert list(s_remote.table["climate"]) == pytest.approx(list(s_local.table["climate"]), rel=1e-12)


def test_serving_file_variants_give_their_per_unit_results(ready_dir, tmp_path):
    """A serving file in a sweep: its own fields vary (the serving site's country, the requests);
    per-unit columns equal what `assess` of the variant's file gives; the training's fields are
    refused (they belong to the training file)."""
    s = sweep([EXAMPLES / "bloom_api_serving.yaml"], ["deployment.requests=230768,1000000", "site.grid.kg_co2e_per_kwh=0.394,0.1"], indicators=["climate"])
    assert len(s.table) == 4
    doc = yaml.safe_load((EXAMPLES / "bloom_api_serving.yaml").read_text())
    doc["serves"] = str(EXAMPLES / "bloom.yaml")
    doc["deployment"]["requests"], doc["site"]["grid"]["kg_co2e_per_kwh"] = 1000000, 0.1
    alone = tmp_path / "api.yaml"
    alone.write_text(yaml.safe_dump(doc))
    pu = assess(alone, indicators=["climate"]).per_unit.iloc[0]
    row = s.table.iloc[3]
    assert row["climate per request, serving"] == pytest.approx(pu["serving_per_unit"], rel=1e-6)
    assert row["climate per request, with training"] == pytest.approx(pu["amortised_per_unit"], rel=1e-6)
    assert "climate per request, serving (kg CO2-Eq)" in s.summary()
    with pytest.raises(Exception, match="is a serving file; vary the training campaign file"):
        sweep([EXAMPLES / "bloom_api_serving.yaml"], ["training.site.pue=1.1"], indicators=["climate"])


def test_vary_keeps_norway_a_country():
    """YAML 1.1 reads NO, yes, on, off as booleans; in --vary only true and false are."""
    assert parse_vary("site.country=FR,NO,off,1.2").values == ["FR", "NO", "off", 1.2]
    assert parse_vary("x=true,False").values == [True, False]
