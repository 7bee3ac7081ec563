"""Discoverability: `aicompute list`, aliases of GPU models and countries (and what they were
read as), `show` of a campaign, `--json -`."""

import json
from pathlib import Path

import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.catalog import choices
from bw_aicompute.cli import main

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_lists_carry_figures_and_sources(ready_dir):
    gpus = choices("gpus").set_index("key")
    assert gpus.loc["h100_sxm_80gb", "tdp_w"] == 700  # NVIDIA H100 SXM datasheet
    assert 150 < gpus.loc["h100_sxm_80gb", "card_climate_kg_co2e"] < 400 and gpus["source"].str.len().min() > 10
    countries = choices("countries").set_index("key")
    assert {"FR", "DE", "US-TX", "CA-QC", "GLO"} <= set(countries.index)
    assert countries.loc["DE", "iso3"] == "DEU" and countries.loc["FR", "name"] == "France"
    assert countries.loc["FR", "climate_kg_co2e_per_kwh"] < countries.loc["DE", "climate_kg_co2e_per_kwh"]  # nuclear against coal and gas
    profiles = choices("profiles").set_index("key")
    assert profiles.loc["free-cooled-colocation", "pue"] == pytest.approx(1.17) and "Scaleway" in profiles.loc["free-cooled-colocation", "source"]
    assert "pretraining" in set(choices("kinds")["key"]) and "climate" in set(choices("indicators")["key"])
    params = choices("parameters").set_index("key")
    assert params.loc["hw_lifetime_years", "default"] == 5.75 and params.loc["hw_lifetime_years", "distribution"] == "beta [4, 6]"


def test_cli_list_formats_and_json_to_stdout(ready_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["list", "profiles"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("key") and "free-cooled-colocation" in out and "..." not in out
    assert main(["list", "kinds", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["key", "pretraining"]
    assert main(["list", "gpus", "--json", "-"]) == 0
    assert {g["key"] for g in json.loads(capsys.readouterr().out)} >= {"h100_sxm_80gb", "b200"}
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--indicator", "climate", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["climate"]["value"] > 0
    assert not (tmp_path / "-").exists()
    # the grids of an earlier year, with their shares (site.grid_year)
    assert main(["list", "countries", "--year", "2022", "--json", "-"]) == 0
    fr = next(r for r in json.loads(capsys.readouterr().out) if r["key"] == "FR")
    assert fr["year"] == 2022 and fr["nuclear_pct"] == pytest.approx(100 * 297.88 / 470.67, rel=1e-6)
    assert sum(v for k, v in fr.items() if k.endswith("_pct")) == pytest.approx(100, rel=1e-6)
    assert main(["list", "countries", "--year", "2000"]) == 2
    assert "years available: 2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023 (US states: 2001-2024)" in capsys.readouterr().err


def test_aliases_are_read_and_reported(ready_dir, tmp_path, capsys):
    doc = yaml.safe_load((EXAMPLES / "moshi_like.yaml").read_text())
    doc["hardware"]["gpu"], doc["site"]["country"] = "h200", "Germany"
    path = tmp_path / "alias.yaml"
    path.write_text(yaml.safe_dump(doc))
    a = assess(path, indicators=["climate"], replace=True)
    assert a.model.campaign.site.country == "DE" and a.model.campaign.hardware.gpu == "h200_sxm_141gb"
    assert a.to_dict()["resolved"] == ["site.country: 'Germany' read as DE", "hardware.gpu: 'h200' read as 'H200 SXM 141GB'"]
    doc["site"]["country"] = "deu"
    path.write_text(yaml.safe_dump(doc))
    assert main(["assess", str(path), "--indicator", "climate", "--replace"]) == 0
    assert "site.country: 'deu' read as DE" in capsys.readouterr().out
    doc["hardware"]["gpu"] = "H100"
    path.write_text(yaml.safe_dump(doc))
    assert main(["assess", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'H100' names several GPU models: H100 NVL 94GB, H100 PCIe 80GB, H100 SXM 80GB" in err and len(err.strip().splitlines()) == 1


def test_show_a_campaign_and_status_names_the_directory(ready_dir, capsys):
    assess(EXAMPLES / "bloom.yaml", indicators=["climate"])
    assert main(["show", "campaign, BLOOM final training (Luccioni et al. 2023)"]) == 0
    assert "phase" in capsys.readouterr().out
    assert main(["status", "--project", "nowhere"]) == 2
    assert str(ready_dir) in capsys.readouterr().err


def test_assess_tables_as_markdown_and_csv(ready_dir, capsys):
    import csv
    import io

    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--format", "csv", "--indicator", "climate"]) == 0
    sections = capsys.readouterr().out.strip().split("\n\n")
    assert [s.splitlines()[0] for s in sections] == ["# Totals", "# By phase", "# By life-cycle stage"]
    phases = list(csv.DictReader(io.StringIO("\n".join(sections[1].splitlines()[1:]))))
    total = float(list(csv.DictReader(io.StringIO("\n".join(sections[0].splitlines()[1:]))))[0]["value"])
    assert sum(float(r["climate (kg CO2-Eq)"]) for r in phases) == pytest.approx(total, rel=1e-9)
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--format", "markdown", "--indicator", "climate"]) == 0
    out = capsys.readouterr().out
    assert "IPCC 2021 \\| climate change \\|" in out and all(line.count(" | ") == 3 for line in out.splitlines() if line.startswith("| climate"))
