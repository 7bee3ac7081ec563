"""The provider functional units of the Green Software Foundation's SCI for AI (SPEC.md 8.2,
github.com/Green-Software-Foundation/sci-ai): `--per parameter`, `--per "training token"` and
`--per PFLOP` divide the training campaign's totals, every indicator, by the counts of the
campaign file's `model:`; a missing count or a bad one is refused before anything is written."""

import json
import re
import shutil
from pathlib import Path

import bw2data as bd
import openpyxl
import pytest
import yaml

from bw_aicompute import AicomputeError
from bw_aicompute.assessment import assess, per_model_unit
from bw_aicompute.campaign import read_campaign
from bw_aicompute.cli import main

EXAMPLES = Path(__file__).parents[1] / "examples"
INDICATORS = ["climate", "water", "adp_minerals"]
# BLOOM: 176B parameters trained on 366B tokens (Le Scao et al. 2022, arXiv:2211.05100;
# Luccioni et al. 2023, JMLR 24(253)); its final training 50.5 t CO2-eq (Luccioni, Table 3)
PARAMETERS, TOKENS, BLOOM_T = 176e9, 366e9, 50_500.0


def bloom(tmp_path: Path, model: dict | None, name: str = "bloom.yaml") -> Path:
    """examples/bloom.yaml with `model:` (none: without it), in tmp_path."""
    doc = yaml.safe_load((EXAMPLES / "bloom.yaml").read_text())
    if model is not None:
        doc["model"] = model
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def test_every_indicator_per_parameter_training_token_and_pflop(ready_dir, tmp_path):
    """Each unit's value is the training campaign's total / the count, for every indicator;
    without `training_flops` the FLOP are 6 N D, flagged as an estimate; BLOOM's 50.5 t is
    0.138 mg CO2-eq per training token and 287 kg per billion parameters."""
    path = bloom(tmp_path, {"parameters": "176B", "training_tokens": "366B tokens", "source": "Le Scao et al. 2022"})
    a = assess(path, indicators=INDICATORS, per="parameter")
    totals = a.totals.set_index("indicator")["value"]
    for unit, count, estimated in (("parameter", PARAMETERS, False), ("training token", TOKENS, False), ("PFLOP", 6 * PARAMETERS * TOKENS / 1e15, True)):
        pm = a.per_model if unit == "parameter" else per_model_unit(a, unit)
        assert list(pm["indicator"]) == INDICATORS and set(pm["functional_unit"]) == {unit}
        for r in pm.itertuples():
            assert r.value == pytest.approx(totals[r.indicator] / count, rel=1e-6) and r.units == pytest.approx(count)
            assert r.estimated is estimated and ("ESTIMATE: training FLOP = 6 x parameters x training tokens" in r.note) is estimated
    climate = per_model_unit(a, "training token").set_index("indicator").loc["climate", "value"]
    assert climate == pytest.approx(BLOOM_T / TOKENS, rel=0.01)  # 1.38e-7 kg per training token
    assert a.per_model.set_index("indicator").loc["climate", "value"] * 1e9 == pytest.approx(287, rel=0.01)
    mc = assess(path, indicators=["climate"], per="parameter", iterations=12, seed=1, replace=True)  # the percentiles / the count
    stats = mc.uncertainty.totals_table().iloc[0]
    assert mc.per_model["p2_5"].iloc[0] == pytest.approx(stats["p2_5"] / PARAMETERS) and mc.per_model["p97_5"].iloc[0] == pytest.approx(stats["p97_5"] / PARAMETERS)
    assert "95 % intervals (Monte Carlo totals / the count)" in mc.summary()


def test_json_text_and_workbook_carry_the_unit(ready_dir, tmp_path, capsys):
    """`aicompute assess --per PFLOP` with the FLOP given: the text report, the JSON
    (`per_model_unit`) and the workbook (sheet `Per model unit`) name the unit; no estimate."""
    path = bloom(tmp_path, {"parameters": 176e9, "training_flops": "3.9e23 FLOP"})
    out, xlsx = tmp_path / "r.json", tmp_path / "r.xlsx"
    assert main(["assess", str(path), "--per", "PFLOP", "--indicator", "climate", "--json", str(out), "--excel", str(xlsx)]) == 0
    text = capsys.readouterr().out
    assert "Per PFLOP (SCI for AI, provider functional unit): the totals of the training campaign / 3.9e+08 PFLOP (model.training_flops)" in text
    assert "ESTIMATE" not in text and re.search(r"climate +0\.0001\d+ kg CO2-Eq per PFLOP", text), text
    doc = json.loads(out.read_text())
    row = doc["per_model_unit"][0]
    assert row["functional_unit"] == "PFLOP" and row["field"] == "model.training_flops" and row["estimated"] is False
    assert row["value"] == pytest.approx(doc["totals"]["climate"]["value"] / 3.9e8, rel=1e-9)
    sheet = list(openpyxl.load_workbook(xlsx)["Per model unit"].iter_rows(values_only=True))
    assert sheet[0][:3] == ("indicator", "unit", "functional_unit") and sheet[1][2] == "PFLOP"


def test_serving_file_divides_the_training_only(ready_dir, tmp_path, capsys):
    """A serving file's `model:` (replacing the training file's): the provider units divide the
    training campaign (the SCI for AI provider boundary), the serving keeps its per-request
    table (the consumer boundary)."""
    bloom(tmp_path, {"parameters": 1e9})  # the serving file's `model:` replaces this one
    doc = yaml.safe_load((EXAMPLES / "bloom_api_serving.yaml").read_text())
    doc["model"] = {"training_tokens": 366e9}
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert read_campaign(path).model.parameters is None
    a = assess(path, indicators=["climate"], per="training token")
    pm, pu = a.per_model.iloc[0], a.per_unit.iloc[0]
    assert pu["functional_unit"] == "request" and pm["total"] == pytest.approx(pu["training_total"], rel=1e-12)
    assert pm["value"] == pytest.approx(pu["training_total"] / TOKENS, rel=1e-9)
    assert "serving is not included" in a.summary()


def test_missing_count_is_refused_before_anything_is_written(ready_dir, tmp_path, capsys):
    """The unit's field missing: one line naming the field to add, exit 2, nothing written."""
    before = set(bd.databases)
    for model, per, field in ((None, "parameter", "model.parameters"), ({"parameters": 7e9}, "training token", "model.training_tokens"), ({"parameters": 7e9}, "PFLOP", "model.training_flops")):
        path = bloom(tmp_path, model)
        out = tmp_path / "r.json"
        assert main(["assess", str(path), "--per", per, "--json", str(out)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and str(path) in err and f"--per {per!r} needs field '{field}'" in err, err
        assert not out.exists()
    assert "6 x parameters x training tokens" in err
    assert set(bd.databases) == before


@pytest.mark.parametrize("given, expected", [
    ({"parameters": "7B"}, {"parameters": 7e9}),
    ({"parameters": "176B parameters", "training_tokens": "2.1T tokens"}, {"parameters": 176e9, "training_tokens": 2.1e12, "training_flops": 6 * 176e9 * 2.1e12}),
    ({"training_flops": "6.3e23 FLOP"}, {"training_flops": 6.3e23}),
    ({"training_flops": "5 PFLOP", "training_tokens": "3e9"}, {"training_flops": 5e15, "training_tokens": 3e9}),
    ({"parameters": 7e9, "training_tokens": 2e12, "training_flops": "8.4 ZFLOP"}, {"parameters": 7e9, "training_tokens": 2e12, "training_flops": 8.4e21}),
])
def test_model_counts_as_numbers_or_text(tmp_path, given, expected):
    """A number, or a number with k, M, B or T and the field's word; FLOP estimated only when
    not given."""
    m = read_campaign(bloom(tmp_path, given)).model
    for key, value in expected.items():
        assert getattr(m, key) == pytest.approx(value, rel=1e-12)
    assert m.flops_estimated is ("training_flops" not in given and "training_flops" in expected)


@pytest.mark.parametrize("given, message", [
    ({"parameters": 0}, "field 'model.parameters': must be positive, got 0"),
    ({"parameters": -7e9}, "field 'model.parameters': must be positive"),
    ({"parameters": "1e15"}, "field 'model.parameters': must be at least 1000 and at most 1e+14, got 1e+15"),
    ({"training_tokens": 100}, "field 'model.training_tokens': must be at least 1000 and at most 1e+16"),
    ({"training_flops": 1e31}, "field 'model.training_flops': must be at least 1e+09 and at most 1e+30"),
    ({"training_flops": float("nan")}, "field 'model.training_flops': must be a finite number"),
    ({"parameters": "1e400"}, "field 'model.parameters': must be a finite number"),
    ({"parameters": True}, "field 'model.parameters': must be a number"),
    ({"training_tokens": "2 Tokens"}, "field 'model.training_tokens': '2 Tokens' is not a count"),
    ({"parameters": "7 billion"}, "field 'model.parameters': '7 billion' is not a count"),
    ({"training_flops": "6e23 tokens"}, "field 'model.training_flops': '6e23 tokens' is not a count"),
    ({"parameter": 7e9}, "field 'model.parameter': unknown field (did you mean 'parameters'?)"),
    ({"source": "a paper"}, "field 'model': gives a source but no count"),
    ([7e9], "field 'model': must be a mapping"),
])
def test_bad_model_values_are_refused(tmp_path, given, message):
    """One message naming the file and the field."""
    path = bloom(tmp_path, given)
    with pytest.raises(AicomputeError, match=re.escape(f"{path}: {message}")):
        read_campaign(path)


def test_model_sheet_of_the_workbook(tmp_path):
    """The template's `model` sheet: blank, no model; filled, the counts; a bad one named at
    its cell."""
    path = tmp_path / "c.xlsx"
    shutil.copy(EXAMPLES / "campaign_template.xlsx", path)
    wb = openpyxl.load_workbook(path)
    wb["campaign"]["B2"], wb["site"]["B2"], wb["hardware"]["B2"] = "c", "FR", "H100 SXM 80GB"
    wb["phases"].append(["p1", "pretraining", None, None, 100])
    wb.save(path)
    assert read_campaign(path).model is None
    wb["model"]["B2"], wb["model"]["B3"] = "7B", "2.1T tokens"
    wb.save(path)
    m = read_campaign(path).model
    assert (m.parameters, m.training_tokens, m.flops_estimated) == (7e9, 2.1e12, True)
    wb["model"]["B4"] = 1
    wb.save(path)
    with pytest.raises(AicomputeError, match=r"sheet 'model', row 4, column 'value' \(field model.training_flops\): must be at least 1e\+09"):
        read_campaign(path)
