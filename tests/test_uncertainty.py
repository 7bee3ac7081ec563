"""Monte Carlo: parameters sampled and propagated correctly (checked against a closed form),
reproducible seeds, outputs that add up, sensitivity, outputs, and splitting over processes."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.lca import method_for
from bw_aicompute import uncertainty

EXAMPLES = Path(__file__).parents[1] / "examples"

# A BLOOM-like campaign whose only uncertainty is in the foreground parameters: grid and
# embodied footprints are given as numbers (no distribution), so the total has a closed form in
# the sampled hw_lifetime_years, utilisation, gpu_load_factor and node_overhead_share.
CLOSED_FORM = {
    "campaign": {"name": "closed form"},
    "site": {"country": "FR", "pue": 1.0, "wue_l_per_kwh": 0, "grid": {"kg_co2e_per_kwh": 0.057, "water_l_per_kwh": 0}},
    "hardware": {
        "gpu": "A100 SXM4 80GB",
        "gpus_per_node": 8,
        "gpu_embodied": {"kg_co2e": 150},
        "server_embodied": {"kg_co2e": 2500},
        "switches_per_gpu": 0,
        "storage_tb_per_gpu": 0,
        "datacenter_infrastructure": False,
    },
    "phases": [{"name": "training", "kind": "pretraining", "gpu_hours": 100000}],
}


def closed_form_file(tmp_path):
    path = tmp_path / "closed.yaml"
    path.write_text(yaml.safe_dump(CLOSED_FORM))
    return path


def column(mc, name):
    return mc.inputs[:, mc.input_names.index(f"parameter {name}")]


def test_parameters_are_sampled_and_propagated(ready_dir, tmp_path):
    a = assess(closed_form_file(tmp_path), indicators=["climate"], iterations=200, seed=3)
    mc = a.uncertainty
    L, u = column(mc, "hw_lifetime_years"), column(mc, "utilisation")
    lf, share = column(mc, "gpu_load_factor"), column(mc, "node_overhead_share")
    gh = 100000
    expected = gh * 400 * lf * (1 + share) / 1000 * 0.057 + gh * (150 + 2500 / 8) / (L * 8760 * u)
    assert mc.totals[:, 0] == pytest.approx(expected, rel=1e-5)
    assert L.min() >= 4 and L.max() <= 6 and u.min() >= 0.5 and u.max() <= 0.95
    assert np.std(mc.totals[:, 0]) > 0.05 * np.mean(mc.totals[:, 0])
    # sensitivity: energy inputs push the total up, lifetime and utilisation pull it down
    sens = mc.sensitivity(top=10).set_index("input")["spearman"]
    assert sens["parameter gpu_load_factor"] > 0.2 and sens["parameter hw_lifetime_years"] < -0.1
    assert sens["parameter utilisation"] < -0.1


def test_same_seed_same_numbers_and_outputs_add_up(ready_dir):
    a = assess(EXAMPLES / "moshi_like.yaml", iterations=40, seed=11)
    b = assess(EXAMPLES / "moshi_like.yaml", iterations=40, seed=11)
    c = assess(EXAMPLES / "moshi_like.yaml", iterations=40, seed=12)
    assert np.array_equal(a.uncertainty.totals, b.uncertainty.totals)
    assert np.array_equal(a.uncertainty.breakdown, b.uncertainty.breakdown)
    assert not np.allclose(a.uncertainty.totals, c.uncertainty.totals)
    mc = a.uncertainty
    assert np.asarray(mc.breakdown).sum(axis=1) == pytest.approx(mc.totals, rel=1e-8)
    stats = mc.totals_table().set_index("indicator")
    for ind in ("climate", "water", "adp_minerals"):
        r = stats.loc[ind]
        assert r.p2_5 < r.p25 < r.p50 < r.p75 < r.p97_5 and r.sd > 0
    # exchange distributions are sampled too (lifecycle GHG of the technologies of the French mix)
    assert any(n.startswith("Carbon dioxide, fossil of electricity production, nuclear") for n in mc.input_names)


def test_shares_read_as_the_array_and_tables_from_it(ready_dir):
    """The breakdown kept as factors (`Shares`) reads as the array it stands for (rows by
    number, list, slice), and the statistics tables, computed in blocks of rows, are those of
    each column of that array (numpy's percentiles, one column at a time)."""
    mc = assess(EXAMPLES / "moshi_like.yaml", iterations=30, seed=4).uncertainty
    assert isinstance(mc.breakdown, uncertainty.Shares)
    dense = np.asarray(mc.breakdown)
    assert dense.shape == mc.breakdown.shape == (30, len(mc.rows), 3) and np.abs(dense).sum() > 0
    assert np.array_equal(mc.breakdown[:, [5, 1, 5], 2], dense[:, [5, 1, 5], 2])
    assert np.array_equal(mc.breakdown[:, 3, :], dense[:, 3, :]) and np.array_equal(mc.breakdown[:, 2:17, 1], dense[:, 2:17, 1])
    table = mc.breakdown_table()
    assert len(table) == len(mc.rows) * 3
    for k in (0, 7, len(table) - 1):
        r, j = divmod(k, 3)
        values = dense[:, r, j]
        assert (table.phase[k], table.stage[k], table.indicator[k]) == (*mc.rows[r], mc.labels[j])
        assert table.loc[k, ["p2_5", "p50", "p97_5"]].tolist() == pytest.approx(np.percentile(values, [2.5, 50, 97.5]).tolist(), rel=1e-12)
        assert table.sd[k] == pytest.approx(values.std(ddof=1), rel=1e-9, abs=1e-12 * np.abs(values).max())
    by_stage = mc.group_table("stage").set_index(["stage", "indicator"])
    sel = [k for k, (_, stage) in enumerate(mc.rows) if stage == "electricity"]
    assert by_stage.loc[("electricity", "water"), "mean"] == pytest.approx(dense[:, sel, 1].sum(axis=1).mean(), rel=1e-12)


def test_fixed_inputs_have_no_spread(ready_dir):
    """BLOOM's campaign gives every uncertain input as a number: the Monte Carlo must not move."""
    mc = assess(EXAMPLES / "bloom.yaml", indicators=["climate"], iterations=20, seed=2).uncertainty
    assert mc.totals[:, 0] == pytest.approx(np.full(20, 50_532.4), rel=1e-4)


def test_same_numbers_whatever_the_processes(ready_dir):
    """Chunks do not follow the workers: 1 or 2 processes give the same numbers; method tuples
    (no indicator) reach the workers."""
    import bw2data as bd

    method = method_for("climate")[1]
    one = assess(EXAMPLES / "moshi_like.yaml", indicators=[], methods=[method], iterations=uncertainty.CHUNK + 20, seed=5)
    two = assess(EXAMPLES / "moshi_like.yaml", indicators=[], methods=[method], iterations=uncertainty.CHUNK + 20, seed=5, processes=2)
    assert one.uncertainty.chunks == two.uncertainty.chunks == [(0, 2), (1, 2)]
    assert np.array_equal(one.uncertainty.totals, two.uncertainty.totals)
    assert np.array_equal(one.uncertainty.breakdown, two.uncertainty.breakdown)
    assert not np.allclose(one.uncertainty.totals[:20], one.uncertainty.totals[uncertainty.CHUNK :])  # independent streams
    parts = uncertainty.run_chunks(bd.projects.current, str(EXAMPLES / "moshi_like.yaml"), [(" | ".join(method), method)], uncertainty.CHUNK + 20, 5, [1])
    assert np.array_equal(parts[0].totals, one.uncertainty.totals[uncertainty.CHUNK :])


def _reference(plan, samples):
    """The previous implementation, kept as the reference: per iteration, the whole matrices,
    one LU and one right-hand side per phase x stage share plus the total."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    from bw_aicompute.attribution import clean_roundoff, stage_demands

    system, tech, bio = plan.system, samples.tech, samples.bio
    n_it = tech.values.shape[1]
    totals = np.zeros((n_it, system.C.shape[0]))
    breakdown = np.zeros((n_it, len(plan.rows), system.C.shape[0]))
    index = {row: k for k, row in enumerate(plan.rows)}
    names = list(dict.fromkeys(phase for phase, _ in plan.rows))
    fu_row = system.product_row[system.fu]
    for i in range(n_it):
        A = (system.A + sp.csc_matrix((tech.values[:, i], (tech.rows, tech.cols)), shape=system.A.shape)).tocsc()
        B = system.B + sp.csc_matrix((bio.values[:, i], (bio.rows, bio.cols)), shape=system.B.shape)
        demands = stage_demands(system.attribution, A, len(system.phases))
        rhs = np.zeros((A.shape[0], 1 + len(demands)))
        rhs[fu_row, 0] = 1.0
        for k, (_, _, demand) in enumerate(demands):
            for r, a in demand.items():
                rhs[r, k + 1] += a
        s = system.C @ (B @ splu(A).solve(rhs))
        totals[i] = s[:, 0]
        for k, (p, stage, _) in enumerate(demands):
            breakdown[i, index[(names[p], stage)]] += clean_roundoff(s[:, k + 1], s[:, 0])
    return totals, breakdown


@pytest.mark.parametrize("dense_max", [400, 0])  # batched dense core, sparse LU per iteration
def test_same_results_as_the_reference_on_the_same_samples(ready_dir, monkeypatch, dense_max):
    from bw_aicompute import solver

    monkeypatch.setattr(solver, "DENSE_MAX", dense_max)
    a = assess(EXAMPLES / "moshi_like.yaml")
    plan = uncertainty.prepare(a.model, [method_for(i) for i in ("climate", "water", "adp_minerals")])
    samples = uncertainty.draw(plan, 12, np.random.default_rng(3))
    assert samples.tech.values.shape[0] > 10 and samples.bio.values.shape[0] > 10
    totals, breakdown = uncertainty.scores(plan, samples)
    ref_totals, ref_breakdown = _reference(plan, samples)
    assert totals == pytest.approx(ref_totals, rel=1e-9)
    assert np.asarray(breakdown) == pytest.approx(ref_breakdown, rel=1e-9, abs=1e-9 * np.abs(ref_totals).max())
    assert not np.allclose(totals[0], totals[1])


def test_ranks_and_noise():
    """Average ranks as scipy's rankdata; an input unrelated to the total is dropped as noise."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(50, 3)).astype(float)
    assert np.array_equal(uncertainty.ranks(x), rankdata(x, axis=0))
    n = 2000
    driver, noise = rng.normal(size=n), rng.normal(size=n)
    mc = uncertainty.MonteCarlo(
        labels=["climate"], units=["kg"], iterations=n, seed=0, totals=(driver + 0.3 * rng.normal(size=n))[:, None], rows=[], breakdown=np.zeros((n, 0, 1)),
        input_names=["driver", "noise"], inputs=np.column_stack([driver, noise]),
    )
    sens = mc.sensitivity()
    assert list(sens["input"]) == ["driver"] and sens["variance_share"].iloc[0] == 1.0
    assert uncertainty.noise_threshold(n) == pytest.approx(1.96 / np.sqrt(n - 1), rel=1e-4)
    # corrected for the number of inputs tested (Bonferroni): 20 inputs at 0.05 / 20 each
    assert uncertainty.noise_threshold(n, 20) == pytest.approx(3.0233 / np.sqrt(n - 1), rel=1e-4)


def test_cli_uncertainty_outputs(ready_dir, tmp_path, capsys):
    out_json, out_xlsx, out_png = tmp_path / "r.json", tmp_path / "r.xlsx", tmp_path / "s.png"
    rc = main([
        "assess", str(EXAMPLES / "moshi_like.yaml"), "--iterations", "30", "--seed", "1",
        "--json", str(out_json), "--excel", str(out_xlsx), "--sensitivity-plot", str(out_png),
    ])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Uncertainty: Monte Carlo, 30 iterations, seed 1" in out and "Sensitivity: Spearman" in out
    data = json.loads(out_json.read_text())
    u = data["uncertainty"]
    assert u["iterations"] == 30 and u["seed"] == 1 and u["percentiles"] == [2.5, 25.0, 50.0, 75.0, 97.5]
    for t in u["totals"].values():
        assert t["p2_5"] <= t["p25"] <= t["p50"] <= t["p75"] <= t["p97_5"]
    assert set(u["totals"]) == {"climate", "water", "adp_minerals"}
    assert {"phase", "stage", "indicator", "p2_5", "p25", "p50", "p75", "p97_5", "mean", "sd"} <= set(u["rows"][0])
    assert u["sensitivity"] and {"indicator", "input", "spearman"} <= set(u["sensitivity"][0])
    import openpyxl

    assert {"Uncertainty totals", "Uncertainty breakdown", "Sensitivity"} <= set(openpyxl.load_workbook(out_xlsx, read_only=True).sheetnames)
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--sensitivity-plot", str(out_png)]) == 2
    assert "needs --iterations" in capsys.readouterr().err


def test_no_uncertainty_without_iterations(ready_dir, tmp_path):
    a = assess(EXAMPLES / "bloom.yaml", indicators=["climate"])
    assert a.uncertainty is None and "uncertainty" not in a.to_dict()


@pytest.mark.parametrize("example", ["moshi_like.yaml", "llama2_defaults.yaml", "bloom_bottom_up.yaml", "finetune_measured_ppa.yaml"])
def test_deterministic_result_lies_between_the_quartiles(ready_dir, example):
    """Every distribution has its median at the default (the evidence median), and what the file
    leaves open (the grid's year, a US site's state) is a market drawn in Monte Carlo: the
    deterministic total lies between the 25th and 75th percentiles of 1,000 iterations on every
    default indicator, water scarcity and primary energy; the inputs that reach an indicator
    drive it with the sign of their one-at-a-time change."""
    from bw_aicompute.campaign import read_campaign
    from bw_aicompute.campaign.write import open_grid

    names = ["climate", "water", "adp_minerals", "water_scarcity", "energy"]
    a = assess(EXAMPLES / example, indicators=names, iterations=1000, seed=7)
    stats = a.uncertainty.totals_table().set_index("indicator")
    drawn = open_grid(read_campaign(EXAMPLES / example))
    for indicator in names:
        deterministic = a.totals.set_index("indicator").loc[indicator, "value"]
        if stats.loc[indicator, "p25"] <= deterministic <= stats.loc[indicator, "p75"]:
            continue
        # a US site's state drawn among the data-centre states: water scarcity spans Virginia's
        # 1.6 to Arizona's 89 per m3, a right-skewed total whose expected value (the deterministic
        # market) lies above the upper quartile; it is then the Monte Carlo mean, within 4 standard errors
        assert drawn is not None and drawn.what == "state" and indicator == "water_scarcity", indicator
        assert abs(deterministic - stats.loc[indicator, "mean"]) < 4 * stats.loc[indicator, "sd"] / 1000**0.5, indicator
    sens = a.uncertainty.sensitivity(top=10)
    signed = sens.dropna(subset=["one_at_a_time"])  # a drawn grid is a switch: no 1 % rise
    assert len(signed) >= len(sens) - 5 and (np.sign(signed["spearman"]) == np.sign(signed["one_at_a_time"])).all()
    # a flow without a factor in a method cannot drive it: no fossil CO2 among the ADP drivers,
    # and a drawn grid's score per unit drives its own indicator only
    adp = sens[sens["indicator"] == "adp_minerals"]["input"]
    assert not adp.str.contains("Carbon dioxide|Methane").any()
    assert all(row.indicator in row.input for row in sens.itertuples() if row.input.startswith("choice"))


def test_distributions_have_their_median_at_the_default():
    """The loader's distributions: the median of every triangular and beta it builds is the
    amount, for any amount inside any range (a triangular where it can, else refused)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from bw_aicompute import distributions
    from bw_aicompute.errors import InputError, Where

    where = Where(file="test.yaml")

    @settings(derandomize=True, max_examples=200, deadline=None)
    @given(lo=st.floats(-1e3, 1e3), width=st.floats(1e-3, 1e3), q=st.floats(0.001, 0.999))
    def check(lo, width, q):
        hi, amount = lo + width, lo + q * width
        beta = distributions.to_fields({"type": "beta", "minimum": lo, "maximum": hi}, amount, where)
        assert distributions.median(beta, amount) == pytest.approx(amount, rel=1e-6, abs=1e-9 * width)
        try:
            tri = distributions.to_fields({"type": "triangular", "minimum": lo, "maximum": hi}, amount, where)
        except InputError:
            assert not 1 - 2 ** -0.5 - 1e-9 <= q <= 2 ** -0.5 + 1e-9
            return
        assert distributions.median(tri, amount) == pytest.approx(amount, rel=1e-6, abs=1e-9 * width)
        draws = distributions.sample(tri, amount, 20000, np.random.default_rng(1))
        assert np.median(draws) == pytest.approx(amount, abs=0.03 * width)

    check()


def test_h100_card_band_covers_the_published_values(ready_dir):
    """The 95 % band of the H100 SXM card's climate (exchange distributions, plain Brightway
    Monte Carlo) covers NVIDIA's 164 kg, ADEME's measured 167 kg, ADEME 2026's 273 kg and MLCA's
    about 330 kg (published_studies.md, data_sources.md 2.1-2.5)."""
    import bw2calc as bc
    import bw2data as bd
    import numpy as np

    card = bd.get_node(database="aicompute", code="gpu-card-h100_sxm_80gb-gate")
    lca = bc.LCA({card: 1}, method_for("climate")[1], use_distributions=True, seed_override=7)
    lca.lci()
    lca.lcia()
    scores = [lca.score] + [(next(lca), lca.score)[1] for _ in range(399)]
    low, high = np.percentile(scores, [2.5, 97.5])
    assert low <= 164 and high >= 330
