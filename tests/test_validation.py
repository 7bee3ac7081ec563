"""The validation report: every published reference beside our results, verdicts consistent with
the stated tolerances, the references that hold today still holding, and the documentation's copy of
the report current."""

import re
from pathlib import Path

import pandas as pd
import pytest

from bw_aicompute.cli import main
from bw_aicompute.validation import references, to_markdown, validate

README = Path(__file__).parents[1] / "docs" / "methodology" / "validation.md"
EXAMPLES = Path(__file__).parents[1] / "examples"

# Rows within tolerance today: a change that loses one of them is a regression. The others are
# gaps, listed in the documentation's validation report (docs/methodology/validation.md). Issue
# 24 moved the defaults to measured evidence: the HBM per GB follows ADEME/Hubblo's measured H100
# card (the card is then within 4 % of NVIDIA's HGX H100 PCF, which joined the set, and ADEME
# 2026's 273 kg left it), DDR5 and SSD follow the manufacturers' per-GB figures (MLCA's BLOOM
# embodied rows joined), lifetime 5.75 y and utilisation 0.85 follow the operators' figures, and
# the Llama model cards and the manufacturer server PCFs were added.
HOLDING = {
    "bloom-total",
    "bloom-embodied",
    "bloom-dynamic",
    "bloom-idle",
    "llama2-operational",
    "llama31-operational",
    "mlca-bloom-embodied-gwp",
    "mlca-bloom-embodied-pe",
    "mlca-bloom-embodied-adp",
    "nvidia-h100-pcf",
    "nvidia-hgx-h100-baseboard",
    "ademe-2026-h100-adp",
    "ecologits-server",
    "ecologits-server-adp",
    "ecologits-server-pe",
    "ademe-measured-h100",
    "ademe-measured-a100-sxm4-40gb",
    "ademe-measured-l4",
    "bloom-api-total",  # serving (issue 17): the study's inputs through a serving file
    "bloom-api-per-request",
    *(f"server-pcf-{s}" for s in ("hpe-dl380-gen10", "hpe-dl365-gen10-plus", "dell-r6525", "dell-r940xa", "dell-c4140")),
}
# Grids composed of generation technologies (issue 12): lifecycle GHG within 15 % of OWID/Ember
# for 25 of 31 countries. Outside: CA -20 %, AE -26 %, SA -15 % (gas fleets of open-cycle and
# steam plants, modelled as combined cycle), FR +20 %, BE +24 %, CH +18 % (small fossil shares
# at AR5 factors weigh more than in OWID's figure). Water consumption within 30 % of WRI for 11
# of 26 countries: WRI counts fuel-chain water and country-specific reservoir evaporation that
# the operational medians of Macknick et al. leave out or average (NL -78 %, DK -79 %, NO +126 %,
# MY +142 %...).
GHG_HOLDING = "US CN TW KR JP IN SG MY ID AU DE GB IE NL SE NO FI DK IS ES IT PL BR ZA IL GLO".split()
WATER_HOLDING = "TW KR JP IN DE FR IE SE FI PL CA".split()
# US states with their real EIA 2023 mix (issue 24) against eGRID's direct-emission rate: within
# 15 % for 10 of 21; the gas-heavy and low-carbon ones are above it by the lifecycle emissions
# eGRID leaves out (CA +35 %, VA +23 %, FL +20 %, VT +148 %).
STATE_HOLDING = "AL AR AZ GA IL IA OH TN TX UT".split()
HOLDING |= {f"grid-ghg-{c}" for c in GHG_HOLDING} | {f"grid-water-{c}" for c in WATER_HOLDING} | {f"grid-ghg-US-{s}" for s in STATE_HOLDING}


def project_files(base: Path, project: str) -> dict[str, str]:
    """SHA-256 of every file of a project's directory (its SQLite database, processed arrays...)."""
    import hashlib

    import bw2data as bd

    bd.projects.set_current(project)
    folder = Path(bd.projects.dir)
    return {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.rglob("*")) if f.is_file()}


# one worker runs the validation once for these tests (pytest-xdist --dist loadgroup)
pytestmark = pytest.mark.xdist_group("validation")


@pytest.fixture(scope="module")
def validated(_template, tmp_path_factory):
    """A data directory with a user's set-up project `aicompute` in which the validation ran:
    (base, the report, the user's project files before and after)."""
    import shutil

    import bw2data as bd

    base = tmp_path_factory.mktemp("validation") / "bw"
    shutil.copytree(_template, base)
    bd.projects.change_base_directories(base, project_name="aicompute")
    before = project_files(base, "aicompute")
    table = validate()
    return base, table, before, project_files(base, "aicompute")


@pytest.fixture
def report(validated):
    return validated[1]


def test_validation_leaves_the_users_project_as_it_found_it(validated, capsys):
    import bw2data as bd

    base, _, before, after = validated
    assert after == before  # byte-identical: the campaigns went into the validation's own project
    bd.projects.change_base_directories(base, project_name="aicompute")
    assert not any(name.startswith("aicompute-campaign-") for name in bd.databases)
    # the documented command that failed after a validation (the example's name was taken)
    assert main(["assess", str(EXAMPLES / "bloom_api_serving.yaml"), "--indicator", "climate"]) == 0
    # and the validation never writes into a project it did not create
    assert main(["validate", "--project", "aicompute"]) == 2
    assert "was not created by aicompute validate" in capsys.readouterr().err


def test_the_same_file_at_another_path_is_the_same_campaign(ready_dir, tmp_path, capsys):
    """The installed copy of an example and the repository's are one campaign; a different file
    of the same campaign name is refused."""
    copy = tmp_path / "bloom.yaml"
    copy.write_bytes((EXAMPLES / "bloom.yaml").read_bytes())
    assert main(["assess", str(EXAMPLES / "bloom.yaml"), "--indicator", "climate"]) == 0
    assert main(["assess", str(copy), "--indicator", "climate"]) == 0
    other = tmp_path / "bloom-edited.yaml"
    other.write_text(copy.read_text() + "# edited\n")
    capsys.readouterr()
    assert main(["assess", str(other), "--indicator", "climate"]) == 2
    assert "give --replace" in capsys.readouterr().err


def test_every_reference_is_reported_with_a_consistent_verdict(report):
    assert list(report["reference"]) == [r["id"] for r in references()]
    for row in report.itertuples():
        ours = row._7 if pd.notna(row._7) else row._8  # study inputs, else bottom-up
        assert row.deviation == pytest.approx(ours / row.published - 1, rel=1e-9)
        assert row.verdict.startswith("within") == (abs(row.deviation) <= row.tolerance)
        assert pd.notna(row._8) or pd.notna(row._7)
    defaults = report.dropna(subset=["ours, defaults"])
    assert (defaults["deviation, defaults"] == defaults["ours, defaults"] / defaults["published"] - 1).all()


def test_a_default_that_moves_a_published_case_is_explained(report):
    """Every case with activity data (a study-input value and a defaults value) whose defaults
    land further from the study than its tolerance says why in the row."""
    cases = report.dropna(subset=["ours, study inputs", "ours, defaults"])
    assert {"bloom-total", "llama2-operational", "llama31-operational", "bloom-api-total"} <= set(cases["reference"])
    moved = cases[cases["deviation, defaults"].abs() > cases["tolerance"]]
    assert len(moved) >= 4
    assert (moved["explanation"].str.len() > 20).all(), list(moved.loc[moved["explanation"].str.len() <= 20, "reference"])


def test_references_that_hold_today_still_hold(report):
    within = set(report.loc[report["verdict"].str.startswith("within"), "reference"])
    assert HOLDING <= within, HOLDING - within
    circular = report[report["verdict"].str.contains("circular")]
    assert set(circular["reference"]) == {r["id"] for r in references() if r.get("circular")}


def test_readme_report_is_current(report):
    text = README.read_text()
    block = re.search(r"<!-- validation:start -->\n(.*?)\n<!-- validation:end -->", text, re.S)
    assert block, "docs/methodology/validation.md needs the validation report between <!-- validation:start --> and <!-- validation:end -->"
    assert block.group(1).strip() == to_markdown(report).strip()


def test_cli_prints_markdown_and_writes_csv(validated, tmp_path, capsys):
    import bw2data as bd

    bd.projects.change_base_directories(validated[0], project_name="aicompute")
    assert main(["validate", "--out", str(tmp_path / "v.txt")]) == 2  # refused before any work
    assert "Markdown (.md) or CSV (.csv)" in capsys.readouterr().err
    csv = tmp_path / "v.csv"
    assert main(["validate", "--out", str(csv)]) == 0
    assert capsys.readouterr().out.startswith("| reference |")
    table = pd.read_csv(csv)
    assert len(table) == len(references()) and "verdict" in table.columns
