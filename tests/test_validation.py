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
# gaps, listed with their reasons in the documentation's validation report
# (docs/methodology/validation.md). Issue 37 moved the grids to the fleets' measured efficiencies
# and hydropower to its net, allocated evaporation, so the grid rows are compared like with like
# under their references' conventions: OWID/Ember at AR5's new-plant efficiencies (30 of 31
# within 15 %), WRI at gross reservoir evaporation (11 of 26 within 30 %: WRI counts fuel chains
# and country-specific evaporation), eGRID's direct rates beside our lifecycle (not like with
# like: 3 of 21 within 15 %); ADEME 2011's ADP fossil of about 2010 mixes (not like with like)
# and ADP elements (10 times below the technologies' life-cycle values: none within); the
# technologies' ADP (UNECE 2021) is calibration; Mistral Large 2's hardware shares of ADP and
# water hold, of climate not (the grid).
HOLDING = {
    "bloom-total", "bloom-embodied", "bloom-dynamic", "bloom-idle", "bloom-api-total", "bloom-api-per-request",
    "llama2-operational", "llama31-operational",
    "mlca-bloom-embodied-gwp", "mlca-bloom-embodied-pe", "mlca-bloom-embodied-adp", "falk-bloom-manufacturing-share-minerals",
    "nvidia-h100-pcf", "nvidia-hgx-h100-baseboard", "ademe-2026-h100-adp",
    "ecologits-server", "ecologits-server-adp", "ecologits-server-pe",
    "ademe-measured-h100", "ademe-measured-a100-sxm4-40gb", "ademe-measured-l4",
    *(f"server-pcf-{s}" for s in ("hpe-dl380-gen10", "hpe-dl365-gen10-plus", "dell-r6525", "dell-r940xa", "dell-c4140")),
    "mistral-hardware-share-adp", "mistral-hardware-share-water", "grid-water-siddik-US-AR",
    *(f"technology-adp-{t}" for t in ("coal", "gas", "hydro", "wind", "pv")),
}
GHG_HOLDING = "US CN TW KR JP IN SG MY ID AU DE GB IE NL SE NO FI DK IS ES IT PL BR ZA SA IL".split()
WATER_HOLDING = "CA TW KR JP IN DE FR IE SE FI PL".split()
ADPF_HOLDING = "US CA TW KR JP SG ID FR BE SE NO FI CH ZA IL".split()
STATE_HOLDING = "IA TN UT".split()
HOLDING |= {f"grid-ghg-{c}" for c in GHG_HOLDING} | {f"grid-water-{c}" for c in WATER_HOLDING} | {f"grid-adpf-{c}" for c in ADPF_HOLDING} | {f"grid-ghg-US-{s}" for s in STATE_HOLDING}


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
    cases = report[report["basis"] == "campaign"].dropna(subset=["ours, study inputs", "ours, defaults"])
    assert {"bloom-total", "llama2-operational", "llama31-operational", "bloom-api-total"} <= set(cases["reference"])
    moved = cases[cases["deviation, defaults"].abs() > cases["tolerance"]]
    assert len(moved) >= 4
    assert (moved["explanation"].str.len() > 20).all(), list(moved.loc[moved["explanation"].str.len() <= 20, "reference"])


def test_the_report_ranks_every_published_figure_in_our_distribution(report):
    """Percentiles, coverage and widths: every row compared like with like has the published
    figure's percentile in our distribution (serving per unit excepted: no Monte Carlo of it);
    a study's inputs that leave nothing open reproduce it; a row inside the 95 % interval has
    its percentile between 2.5 and 97.5; the summary counts them."""
    from bw_aicompute.validation import summary

    ranked = report.dropna(subset=["percentile"])
    assert len(ranked) >= len(report) - 4
    spread = ranked[ranked["width"] > 1 + 1e-9]
    inside = spread[spread["in 95 %"].astype(bool)]
    assert inside["percentile"].between(2.5, 97.5).all()
    s = summary(report)
    assert s["rows"] == len(report.dropna(subset=["in 95 %"])) and 0 < s["coverage"] < 1
    assert s["defaults below a TDP-only figure"] == []  # full defaults never below a model card's TDP-only figure
    assert {"llama2-operational", "llama31-operational"} <= set(report.loc[report["convention"].str.contains("TDP"), "reference"])


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
    assert capsys.readouterr().out.startswith("Coverage like with like:")
    table = pd.read_csv(csv)
    assert len(table) == len(references()) and "verdict" in table.columns
