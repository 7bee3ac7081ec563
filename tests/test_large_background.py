"""Monte Carlo on a generated background of ecoinvent's shape (bench/large_background.py at
2,000 activities, linked with `link-ecoinvent`): the supply chain is solved by refining one LU of
the static matrix (`bw_aicompute.refine`); its numbers are those of one direct LU per iteration,
whatever the threads or the split into chunks."""

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse.csgraph as csgraph

from bw_aicompute import refine, sampling, solver, uncertainty
from bw_aicompute.assessment import assess, resolve_all
from bw_aicompute.cli import main

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import large_background  # noqa: E402

INDICATORS = ["climate", "water", "adp_minerals"]


@pytest.fixture
def linked(ready_dir, capsys):
    """moshi_like written against the foreground linked to a 2,000-activity generated background."""
    info = large_background.build(2000)
    assert main(["link-ecoinvent", "--database", large_background.NAME, "--version", "3.10"]) == 0
    assert "105 exchanges now link to ecoinvent" in capsys.readouterr().out
    a = assess(ROOT / "examples" / "moshi_like.yaml", indicators=INDICATORS, background="ecoinvent")
    return info, a, resolve_all(INDICATORS, [])


def test_generated_background_has_ecoinvent_shape(linked):
    info, a, resolved = linked
    assert info["technosphere"] > 10 * info["activities"] and info["biosphere"] > 20 * info["activities"]
    plan = uncertainty.prepare(a.model, resolved)
    A = plan.system.A
    assert len(plan.system.core) > 0.5 * info["activities"] > solver.DENSE_MAX  # the supply chain reaches most of it
    _, labels = csgraph.connected_components(A, directed=True, connection="strong")
    assert np.bincount(labels).max() > 100  # a strongly connected background, as in ecoinvent
    nnz, factors = large_background.fill_in()
    assert factors < 5 * nnz  # a fill-in of an LCA matrix, not of a random one (30x and more)


def test_refined_solves_equal_direct_ones(linked, monkeypatch):
    _, a, resolved = linked
    plan = uncertainty.prepare(a.model, resolved)
    samples = uncertainty.draw(plan, 30, np.random.default_rng(5))
    assert samples.tech.values.shape[0] > 10_000
    totals, breakdown = uncertainty.scores(plan, samples)
    assert plan.system.direct == 0 and max(plan.system.steps) < refine.MAX_STEPS
    none = solver.Deltas.none(1)
    static = solver.totals(plan.system, none, none)  # the same single-precision factors, refined
    monkeypatch.setattr(solver, "REFINE", False)
    ref_totals, ref_breakdown = uncertainty.scores(plan, samples)
    assert totals == pytest.approx(ref_totals, rel=refine.RTOL)
    assert breakdown == pytest.approx(ref_breakdown, rel=refine.RTOL, abs=refine.RTOL * np.abs(ref_totals).max())
    assert static == pytest.approx(solver.totals(plan.system, none, none), rel=100 * refine.STATIC_RTOL)  # double precision
    assert np.std(totals[:, 0]) > 0.01 * np.mean(totals[:, 0])


def test_threads_chunks_and_processes_do_not_change_the_numbers(linked, monkeypatch):
    """Two databases with distributions (ecoinvent's and the open background's): their streams
    do not follow the order in which bw2data lists them (a set: it changes between processes)."""
    import bw2data as bd

    _, a, resolved = linked
    whole = uncertainty.run(a.model, resolved, 300, seed=7)
    parts = [uncertainty.run(a.model, resolved, 300, seed=7, only=[k]) for k in (1, 0)]
    joined = uncertainty.combine(sorted(parts, key=lambda p: p.chunks[0][0]))
    assert np.array_equal(whole.totals, joined.totals) and np.array_equal(whole.inputs, joined.inputs)
    two = uncertainty.run_parallel(bd.projects.current, str(ROOT / "examples" / "moshi_like.yaml"), resolved, 300, 7, 2, background="ecoinvent")
    assert np.array_equal(whole.totals, two.totals) and np.array_equal(whole.breakdown, two.breakdown)
    monkeypatch.setattr(refine, "cpus", lambda: 1)
    assert np.array_equal(uncertainty.run(a.model, resolved, 300, seed=7).totals, whole.totals)


def test_small_memory_blocks_do_not_change_the_distribution(linked, monkeypatch):
    """A chunk drawn in blocks (a large supply chain) is drawn from the chunk's one stream."""
    _, a, resolved = linked
    monkeypatch.setattr(uncertainty, "DRAW_FLOATS", 2**20)
    plan = uncertainty.prepare(a.model, resolved)
    assert plan.block < uncertainty.CHUNK and uncertainty.blocks(plan, 60) == [plan.block] * (60 // plan.block) + ([60 % plan.block] if 60 % plan.block else [])
    mc = uncertainty.run_chunk(plan, 1, 0, 1, 60)
    assert mc.totals.shape == (60, 3) and len(np.unique(mc.totals[:, 0])) == 60


def test_fast_lognormal_draws_follow_stats_arrays():
    """Unbounded lognormals are drawn with numpy; their distribution is stats_arrays'."""
    from stats_arrays import MCRandomNumberGenerator, UncertaintyBase

    params = UncertaintyBase.from_dicts(
        {"uncertainty_type": 2, "loc": np.log(3.0), "scale": 0.4},
        {"uncertainty_type": 2, "loc": np.log(0.5), "scale": 0.1, "negative": True},
        {"uncertainty_type": 4, "minimum": 1.0, "maximum": 2.0},
    )
    ours = sampling._generate(params, 20000, seed=3)
    theirs = MCRandomNumberGenerator(params, seed=3).generate(samples=20000)
    for k in range(3):
        q = np.quantile(ours[k], [0.1, 0.5, 0.9]), np.quantile(theirs[k], [0.1, 0.5, 0.9])
        assert q[0] == pytest.approx(q[1], rel=0.02)
    assert (ours[1] < 0).all() and ours[2].min() >= 1.0 and ours[2].max() <= 2.0
