"""The documentation is current: the command-line reference is the commands' help, the sweep
and comparison outputs are reproduced, the README stays short and links to pages that exist.
(Campaign, telemetry, table and validation outputs: in the tests of those parts.)
Regenerate everything with: python tests/update_docs.py"""

import re
import shlex
from pathlib import Path

import pytest

from bw_aicompute.cli import main, reference_markdown

ROOT = Path(__file__).parents[1]


def test_cli_reference_is_current():
    assert (ROOT / "docs" / "reference" / "cli.md").read_text() == reference_markdown(), "run: python tests/update_docs.py"


@pytest.mark.parametrize("command", ["sweep", "compare"])
def test_sweep_and_compare_outputs_are_reproduced(ready_dir, capsys, monkeypatch, command):
    monkeypatch.chdir(ROOT)
    text = (ROOT / "docs" / "sweeps-comparison.md").read_text()
    block = re.search(r"```\n\$ (aicompute " + command + r" [^\n]*)\n(.*?)```", text, re.S)
    assert main(shlex.split(block.group(1))[1:]) == 0
    printed = capsys.readouterr().out.rstrip().splitlines()
    assert printed == block.group(2).rstrip().splitlines()


def test_readme_example_is_the_documented_one():
    """The README's example output is docs/campaigns.md's, which a test reproduces."""
    pattern = r"```\n\$ aicompute assess examples/moshi_like.yaml\n(.*?)```"
    readme = re.search(pattern, (ROOT / "README.md").read_text(), re.S).group(1).splitlines()
    page = re.search(pattern, (ROOT / "docs" / "campaigns.md").read_text(), re.S).group(1).splitlines()
    assert readme == page[: len(readme)] and len(readme) >= 20, "run: python tests/update_docs.py"


def test_readme_is_short_and_its_links_exist():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert links and all((ROOT / link).is_file() for link in links), links
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert pages == set(re.findall(r":\s*([\w/.-]+\.md)", nav)), "every page is in the mkdocs nav"


def test_from_slurm_output_is_reproduced(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    block = re.search(r"```\n\$ (aicompute from-slurm [^\n]*)\n(.*?)```", (ROOT / "docs" / "slurm.md").read_text(), re.S)
    args = shlex.split(block.group(1))[1:]
    out = str(tmp_path / "lab.yaml")
    args[args.index("--out") + 1] = out
    assert main(args) == 0
    printed = capsys.readouterr().out.rstrip().replace(out, "/tmp/lab.yaml").splitlines()
    assert printed == block.group(2).rstrip().splitlines()
