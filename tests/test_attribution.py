"""Stage attribution on hand-built matrices (no project): a phase's demand split into stages,
shares that add up to the phase, and round-off cleaning."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from bw_aicompute.attribution import StageAttribution, clean_roundoff, stage_demands
from bw_aicompute.errors import AicomputeError

# columns (= product rows): 0 phase, 1 GPU time (untagged), 2 card, 3 server, 4 datacenter
# operation (tagged "on-site water"), 5 grid (untagged), 6 grid's own input: a power plant
# tagged "electricity", 7 wafer (untagged input of the card)
STAGE = {2: "GPU manufacturing", 3: "server, network and storage manufacturing", 4: "on-site water", 6: "electricity"}
INPUTS = {  # (row, column): amount used per unit of the column
    (1, 0): 100.0,  # the phase uses 100 GPU-hours
    (4, 0): 80.0,  # and 80 kWh of IT energy
    (2, 1): 1 / 40_000,  # a GPU-hour: a share of a card
    (3, 1): 1 / 320_000,  # and of a server
    (5, 4): 1.2,  # PUE: grid electricity per kWh of IT energy
    (6, 5): 1.05,  # the grid: generation with losses
    (7, 2): 2.0,  # the card: two wafers
}


def technosphere(production=1.0):
    """Every column produces `production` units with the inputs of INPUTS."""
    n = 8
    rows, cols, vals = list(range(n)), list(range(n)), [production] * n
    for (r, c), a in INPUTS.items():
        rows.append(r), cols.append(c), vals.append(-a)
    return sp.csc_matrix((vals, (rows, cols)), shape=(n, n))


def attribution():
    return StageAttribution({c: c for c in range(8)}, STAGE, [0])


def test_phase_demand_split_into_stages_by_hand():
    (split,) = attribution().demands(technosphere())
    assert set(split) == {"GPU manufacturing", "server, network and storage manufacturing", "on-site water", "electricity"}
    assert split["GPU manufacturing"] == {2: pytest.approx(100 / 40_000)}
    assert split["server, network and storage manufacturing"] == {3: pytest.approx(100 / 320_000)}
    # the facility's own demand, less its (untagged) grid input, which goes to electricity
    assert split["on-site water"] == {4: pytest.approx(80.0), 5: pytest.approx(-96.0)}
    assert split["electricity"] == {5: pytest.approx(96.0)}


def test_inputs_are_per_unit_of_production():
    # each column makes two units with the same inputs: per unit of the phase, the GPU time is
    # halved, and its card share halved again
    a, b = attribution().demands(technosphere(1.0))[0], attribution().demands(technosphere(2.0))[0]
    assert b["GPU manufacturing"][2] == pytest.approx(a["GPU manufacturing"][2] / 4)
    assert b["on-site water"][4] == pytest.approx(a["on-site water"][4] / 2)
    assert b["electricity"][5] == pytest.approx(a["electricity"][5] / 4)


def test_shares_add_up_to_the_phase():
    A = technosphere()
    B = np.zeros((3, 8))
    B[0, 7], B[1, 6], B[2, 4] = 5.0, 0.4, 0.001  # wafer emissions, generation emissions, water
    phase = spsolve(A, np.eye(8)[0])
    total = B @ phase
    parts = np.zeros(3)
    for _, _stage, demand in stage_demands(attribution(), A, 1):
        f = np.zeros(8)
        for r, v in demand.items():
            f[r] += v
        parts += B @ spsolve(A, f)
    assert parts == pytest.approx(total, rel=1e-12)
    # and each flow lands in its stage: the wafers in GPU manufacturing, generation in electricity
    shares = {stage: B @ spsolve(A, np.bincount(list(d), weights=list(d.values()), minlength=8)) for _, stage, d in stage_demands(attribution(), A, 1)}
    assert shares["GPU manufacturing"][0] == pytest.approx(total[0])
    assert shares["electricity"][1] == pytest.approx(total[1])
    # a zero out of a floating-point solve: checked against the magnitude of what was solved
    scale = float(np.max(np.abs(total)))
    assert shares["on-site water"][2] == pytest.approx(total[2]) and shares["on-site water"][1] == pytest.approx(0.0, abs=1e-12 * scale)


def test_a_cycle_is_refused():
    n = 2
    A = sp.csc_matrix(([1.0, 1.0, -0.5, -0.5], ([0, 1, 1, 0], [0, 1, 0, 1])), shape=(n, n))
    with pytest.raises(AicomputeError, match="too deep or cyclic"):
        StageAttribution({0: 0, 1: 1}, {}, [0]).demands(A)


def test_roundoff_is_cleaned_relative_to_the_total():
    parts = np.array([[1e-13, 0.5], [-2e-10, 3.0]])
    total = np.array([100.0, 3.0])
    cleaned = clean_roundoff(parts, total)
    assert cleaned[0, 0] == 0.0 and cleaned[1, 0] == 0.0  # |part| <= 1e-9 x |total|
    assert cleaned[0, 1] == 0.5 and cleaned[1, 1] == 3.0


def _walk_each_phase(a: StageAttribution, A):
    """The attribution's walk written plainly, phase after phase (the reference the compiled
    templates must reproduce): visits (parent, row, column, depth), terms (share, row, sign,
    visit), shares (phase, stage)."""
    visits, terms, shares = [], [], {}

    def inputs(j):
        lo, hi = A.indptr[j], A.indptr[j + 1]
        return [int(r) for r, x in zip(A.indices[lo:hi], A.data[lo:hi]) if r != a.prod_row[j] and x < 0]

    def walk(phase, v, j):
        s = a.stage.get(j)
        if s:
            terms.append((shares.setdefault((phase, s), len(shares)), a.prod_row[j], 1, v))
        for r in inputs(j):
            k = a.row_to_col[r]
            if s and not a.stage.get(k) and s != "on-site water":
                continue
            visits.append((v, r, j, visits[v][3] + 1 if v >= 0 else 1))
            child = len(visits) - 1
            if s:
                terms.append((shares.setdefault((phase, s), len(shares)), r, -1, child))
            if s and not a.stage.get(k):
                terms.append((shares.setdefault((phase, "electricity"), len(shares)), r, 1, child))
            else:
                walk(phase, child, k)

    for i, p in enumerate(a.phase_cols):
        for r in inputs(p):
            visits.append((-1, r, p, 0))
            walk(i, len(visits) - 1, a.row_to_col[r])
    return visits, terms, list(shares)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_compiled_walk_is_the_walk_of_each_phase(data):
    """On generated supply chains (shared sub-chains, tagged and untagged nodes, on-site water,
    phases using the same and different inputs), the compiled traversal has the visits, terms
    and shares of walking each phase in turn."""
    n = data.draw(st.integers(3, 14))
    tags = [None, None, "GPU manufacturing", "on-site water", "electricity"]
    stage = {j: s for j in range(n) if (s := data.draw(st.sampled_from(tags)))}
    rows, cols, vals = list(range(n)), list(range(n)), [1.0] * n
    for j in range(n):
        for r in range(j + 1, n):  # inputs further down: no cycle
            if data.draw(st.booleans()):
                rows.append(r), cols.append(j), vals.append(-data.draw(st.floats(0.1, 5.0)))
    A = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
    phases = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6))
    a = StageAttribution({c: c for c in range(n)}, stage, phases)
    t = a.traversal(A)
    visits, terms, shares = _walk_each_phase(a, A)
    assert np.column_stack([t.parent, t.edge_row, t.edge_col, t.depth]).tolist() == [list(v) for v in visits]
    assert np.column_stack([t.share, t.row, t.sign.astype(int), t.visit]).tolist() == [list(x) for x in terms]
    assert t.shares == shares


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_factored_shares_are_the_walked_shares(data):
    """On generated supply chains with changes of any entry (a phase's inputs and production,
    entries further down) over several iterations, the factored shares (each distinct phase
    input walked once, times each phase's amount of it) equal the shares of the full walk of
    every phase: sum over the demand entries of lambda x amount. A mutation (the production of
    the phases left out of the factored amounts) makes this fail."""
    from bw_aicompute.solver import Deltas

    n = data.draw(st.integers(3, 12))
    tags = [None, None, "GPU manufacturing", "on-site water", "electricity"]
    stage = {j: s for j in range(n) if (s := data.draw(st.sampled_from(tags)))}
    rows, cols, vals = list(range(n)), list(range(n)), [data.draw(st.floats(0.5, 2.0)) for _ in range(n)]
    for j in range(n):
        for r in range(j + 1, n):
            if data.draw(st.booleans()):
                rows.append(r), cols.append(j), vals.append(-data.draw(st.floats(0.1, 5.0)))
    A = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
    phases = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6))
    a = StageAttribution({c: c for c in range(n)}, stage, phases)
    iterations, indicators = 3, 2
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    coo = A.tocoo()
    changed = rng.random(len(coo.data)) < 0.5
    deltas = Deltas(coo.row[changed], coo.col[changed], 0.3 * coo.data[changed, None] * rng.normal(size=(int(changed.sum()), iterations)))
    lam = {r: rng.normal(size=(iterations, indicators)) for r in range(n)}
    t = a.traversal(A)
    share, row, amounts = t.demand_arrays(A, deltas)
    walked = np.zeros((iterations, len(t.shares), indicators))
    for k, r, x in zip(share.tolist(), row.tolist(), amounts):
        walked[:, k, :] += x[:, None] * lam[r]
    f = a.factored(A)
    factored = dict(zip(f.shares, np.moveaxis(f.parts(A, deltas, lam, iterations, indicators), 1, 0)))
    assert set(factored) >= {t.shares[k] for k in set(share.tolist())}
    for k, key in enumerate(t.shares):
        assert factored.get(key, 0.0) == pytest.approx(walked[:, k, :], rel=1e-9, abs=1e-12 * (1 + np.abs(walked).max()))
