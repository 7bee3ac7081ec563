"""Readers on small inputs written in the test (no Brightway project): campaign documents, the
structured input errors, quantities with units, formulas, distributions and power logs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bw_aicompute import InputError
from bw_aicompute import distributions
from bw_aicompute.campaign import parse_campaign
from bw_aicompute.errors import Where, quote
from bw_aicompute.inventory.formulas import evaluation_order, formula_names, with_values
from bw_aicompute.errors import AicomputeError
from bw_aicompute.telemetry import read_log

BASE = {
    "campaign": {"name": "t"},
    "site": {"country": "fr"},
    "hardware": {"gpu": "h100 sxm 80gb"},
    "phases": [{"name": "a", "kind": "pretraining", "gpu_hours": "2 GPU-d"}, {"name": "b", "kind": "debugging", "nodes": 2, "hours": "1.5 d"}],
}


def campaign(**changes):
    doc = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in BASE.items()}
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if section == "phases":
            doc["phases"] = value
        else:
            doc[section][key] = value
    return parse_campaign(doc, "c.yaml")


def test_a_document_is_validated_and_units_converted():
    c = campaign()
    assert c.site.country == "FR" and c.site.profile == "ai-cluster"  # the default profile
    assert c.hardware.gpu == "h100_sxm_80gb"  # names resolved whatever the case and spacing
    assert c.phases[0].gpu_hours == 48.0  # 2 GPU-days
    assert c.phases[1].node_hours == 2 * 36.0 and c.phases[1].gpu_hours == 0.0  # x GPUs per node when written
    assert c.slug == "t" and c.database == "aicompute-campaign-t"


def test_a_bare_number_read_as_text_is_a_number():
    c = campaign(phases=[{"name": "p", "kind": "pretraining", "gpu_hours": "39.3e6"}])  # YAML 1.1 reads 39.3e6 as text
    assert c.phases[0].gpu_hours == 39.3e6
    with pytest.raises(AicomputeError, match="must be a finite number"):
        campaign(phases=[{"name": "p", "kind": "pretraining", "gpu_hours": "inf"}])


def test_former_profile_name_is_read_as_its_new_one():
    c = campaign(site__profile="industry-average")
    assert c.site.profile == "enterprise"
    assert c.resolved == ["site.profile: 'industry-average' read as 'enterprise' (its former name)"]


@pytest.mark.parametrize(
    "changes, field, text",
    [
        ({"site__pue": 0.9}, "site.pue", "must be at least 1 and at most 3, got 0.9"),
        ({"site__pue": 1e300}, "site.pue", "at most 3, got 1e+300"),
        ({"hardware__storage_tb_per_gpu": 18446744073709551617}, "hardware.storage_tb_per_gpu", "at most 1000"),
        ({"hardware__utilisation": 1e-320}, "hardware.utilisation", "at least 0.01"),
        ({"site__country": "Atlantis"}, "site.country", "unknown country 'Atlantis'"),
        ({"hardware__utilisation": 1.5}, "hardware.utilisation", "at most 1,"),
        ({"hardware__gpu": "H1000"}, "hardware.gpu", "unknown GPU model 'H1000'"),
        ({"phases": [{"name": "a", "kind": "pretraning", "gpu_hours": 1}]}, "phases[1] (a).kind", "did you mean 'pretraining'"),
        ({"phases": [{"name": "a", "kind": "debugging", "gpu_hours": "3 GPU-years"}]}, "phases[1] (a).gpu_hours", "unknown unit 'GPU-years'"),
        ({"phases": [{"name": "a", "kind": "debugging", "gpu_hours": "1.2.3 GPU-h"}]}, "phases[1] (a).gpu_hours", "is not a number followed by a unit"),
        ({"phases": [{"name": "a", "kind": "debugging", "gpus": 8}]}, "phases[1] (a).hours", "is required with gpus"),
        ({"phases": [{"name": "a", "kind": "debugging", "gpu_hours": 1}, {"name": "a", "kind": "debugging", "gpu_hours": 1}]}, "phases[2] (a).name", "is used by another phase"),
        ({"phases": [{"name": "a", "kind": "debugging", "gpu_hours": float("inf")}]}, "phases[1] (a).gpu_hours", "must be a finite number"),
    ],
)
def test_errors_carry_the_file_and_field(changes, field, text):
    with pytest.raises(InputError) as exc:
        campaign(**changes)
    assert exc.value.field == field and exc.value.where.file == "c.yaml"
    assert str(exc.value) == f"c.yaml: field '{field}': {exc.value.problem}"
    assert text in exc.value.problem


def test_message_is_built_from_the_place():
    w = Where(file="book.xlsx", sheet="aicompute", row=12, column="unit", what="exchange 'Water'")
    assert str(w.error("unit 'x' unknown")) == "book.xlsx: sheet 'aicompute', row 12, column 'unit' (exchange 'Water'): unit 'x' unknown"
    assert str(Where(file="log.csv").error("bad", line=3)) == "log.csv, line 3: bad"
    assert str(Where(file="inventories/a.yaml", what="dataset 'x'").error("duplicate code", field="code")) == "inventories/a.yaml: dataset 'x': duplicate code"
    assert isinstance(w.error("x"), AicomputeError)
    assert len(quote("x" * 10_000)) <= 200


def test_formulas_names_order_and_values():
    assert formula_names("a * sqrt(b) + 1") == {"a", "b", "sqrt"}
    assert formula_names("1 +") == set()
    order = evaluation_order({"c": "a + b", "b": "a * 2", "d": "c"}, "db")
    assert order.index("b") < order.index("c") < order.index("d")
    with pytest.raises(AicomputeError, match="circular parameter formulas"):
        evaluation_order({"x": "y + 1", "y": "x"}, "db")
    assert with_values("1 / (hw_lifetime_years * 8760 * utilisation)", {"utilisation": 0.5}) == "1 / (hw_lifetime_years * 8760 * 0.5)"
    assert with_values("utilisation_x + 1", {"utilisation": 0.5}) == "utilisation_x + 1"  # names, not text


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["({a} + {b} * {c}) * (x * y / 1000) + {a}", "max({a}, x - {b}) / {c}", "{a} * x ** 2 + {b} // {c}", "-{a} * sqrt(y) % {c}", "{a} / ({b} - {b})"]),
                          st.floats(0, 1e6), st.floats(-50, 50), st.sampled_from([1, 2, 8.0, 0.5])), min_size=1, max_size=12))
def test_formulas_of_one_template_evaluated_together_as_one_by_one(formulas):
    """Formulas that differ only in their numbers, evaluated together with the numbers as
    arrays (`evaluate_many`), give each formula's own value, numbers or arrays of samples; a
    template that fails for one of them (a division by zero) raises the error of that one."""
    from bw_aicompute.inventory.formulas import FormulaError, evaluate_checked, evaluate_many

    texts = [t.format(a=a, b=b, c=c) for t, a, b, c in formulas]
    for symbols, n in (({"x": np.linspace(0.5, 3, 4), "y": np.array([1.0, 2.0, 3.0, 4.0])}, 4), ({"x": 2.0, "y": 9.0}, 1)):
        try:
            one_by_one = [np.broadcast_to(evaluate_checked(t, symbols), (n,)) for t in texts]
        except FormulaError as exc:
            with pytest.raises(FormulaError, match=str(exc).split(" (")[0]):
                evaluate_many(texts, symbols, n)
            continue
        assert evaluate_many(texts, symbols, n) == pytest.approx(np.array(one_by_one), rel=1e-12, abs=1e-12 * np.abs(one_by_one).max())


def test_distributions_round_trip_and_sampling():
    where = Where(file="t")
    for spec, amount in [({"type": "triangular", "minimum": 1, "maximum": 3}, 2.0), ({"type": "lognormal", "gsd": 1.5}, 4.0), ({"type": "uniform", "minimum": 0, "maximum": 1}, 0.5)]:
        fields = distributions.to_fields(spec, amount, where)
        assert distributions.to_spec(fields)["type"] == spec["type"]
        draws = distributions.sample(fields, amount, 20_000, np.random.default_rng(1))
        assert draws.min() >= spec.get("minimum", 0) and (spec["type"] != "lognormal" or math.isclose(np.median(draws), amount, rel_tol=0.02))
    assert distributions.describe({"uncertainty type": 4, "minimum": 3, "maximum": 6}) == "uniform [3, 6]"
    assert distributions.sample({}, 1.0, 3, np.random.default_rng(0)) is None
    with pytest.raises(InputError) as exc:
        distributions.to_fields({"type": "abc"}, 1.0, where)
    assert exc.value.field == "uncertainty"
    with pytest.raises(InputError, match="must contain the amount"):
        distributions.to_fields({"type": "uniform", "minimum": 3, "maximum": 6}, 7.0, where)


def test_plain_power_log_from_a_string(tmp_path):
    log = tmp_path / "p.csv"
    log.write_text("timestamp,gpu,power_w\n0,0,100\n1,0,300\n2,0,300\n100,0,300\n0,1,50\n2,1,50\n")
    s = read_log(log)
    g0, g1 = s.gpus
    assert g0.energy_kwh == pytest.approx((200 + 300) / 3.6e6)  # trapezoids; the 98 s gap is not bridged
    assert len(g0.gaps) == 1 and g0.gaps[0]["seconds"] == 98
    assert g1.energy_kwh == pytest.approx(100 / 3.6e6)
    log.write_text("timestamp,power_w\n0,100\n1,abc\n")
    with pytest.raises(InputError) as exc:
        read_log(log)
    assert exc.value.where.line == 3 and "is not a number" in str(exc.value)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("timestamp,power_w\n0,100\n1e12,100\n", 3, "cannot be read"),  # epoch beyond pandas' range
        ("timestamp,power_w\n0,100\n1,1e20\n", 3, "is above 10000"),
        ("timestamp,gpu,power_w\n0,,100\n1,,100\n", 2, "empty GPU id"),
        ("timestamp,power_w\n0,100\n1,inf\n", 3, "is above"),
        ("timestamp,run_id,duration,gpu_energy,energy_consumed\n2026-01-01T00:00:00,a,10,1,1\n", None, "without the column(s) cpu_energy, ram_energy"),
        ("timestamp,run_id,duration,gpu_energy,cpu_energy,ram_energy,energy_consumed\n2026-01-01T00:00:00,a,inf,1,1,1,1\n", 2, "'duration'"),
        ("timestamp,run_id,duration,gpu_energy,cpu_energy,ram_energy,energy_consumed,gpu_count\n2026-01-01T00:00:00,a,10,1,1,1,1,1e9\n", 2, "GPUs in one run"),
        ("timestamp,run_id,duration,gpu_energy,cpu_energy,ram_energy,energy_consumed\n2026-01-01T00:00:00,,10,1,1,1,1\n", 2, "'run_id': empty value"),
        (",".join(f"c{i}" for i in range(5000)) + "\n", None, "columns; at most 1,000"),
        ("\x00" * 100_000, None, "binary"),
    ],
)
def test_bad_power_logs_give_one_bounded_message(tmp_path, text, line, message):
    log = tmp_path / "bad.csv"
    log.write_text(text)
    with pytest.raises(InputError) as exc:
        read_log(log)
    assert message in str(exc.value) and len(str(exc.value)) < 1000
    if line is not None:
        assert exc.value.where.line == line
