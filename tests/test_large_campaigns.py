"""Campaigns of 10,000 phases, warm re-assessment that writes nothing, and the libyaml reader."""

from pathlib import Path

import bw2data as bd
import pytest
import yaml

from bw_aicompute import yamlfile
from bw_aicompute.assessment import assess

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "moshi_like.yaml"
NAMES = ["climate", "water", "adp_minerals"]


def repeated(tmp_path: Path, copies: int) -> Path:
    """moshi_like with its 9 phases repeated `copies` times (phase names numbered)."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    base = doc["phases"]
    doc["phases"] = [{**p, "name": f"{p['name']} {k}"} for k in range(copies) for p in base]
    doc["campaign"]["name"] = f"moshi x {copies}"
    path = tmp_path / f"moshi_x{copies}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_ten_thousand_phases(ready_dir, tmp_path):
    """9,999 phases (moshi_like's 9, 1,111 times) give 1,111 times moshi_like on every indicator,
    and every phase its share; 20,001 phases are refused with the limit."""
    one = assess(EXAMPLE, indicators=NAMES).totals.set_index("indicator")["value"]
    a = assess(repeated(tmp_path, 1111), indicators=NAMES)
    assert len(a.model.phases) == 9999
    totals = a.totals.set_index("indicator")["value"]
    for name in NAMES:
        assert totals[name] == pytest.approx(1111 * one[name], rel=1e-6)
        assert a.by_phase()[name].sum() == pytest.approx(totals[name], rel=1e-9)


def test_an_unchanged_file_writes_nothing_and_an_edit_is_undone(ready_dir, capsys):
    """A warm `assess` of the same file keeps the campaign's database (same node ids, no write);
    an edit of that database (as Activity Browser saves one) makes the next `assess` write the
    file's content again."""
    first = assess(EXAMPLE, indicators=["climate"])
    db = first.database
    node = bd.get_node(database=db, code=first.model.key[1])
    modified = bd.databases[db]["modified"]
    again = assess(EXAMPLE, indicators=["climate"])
    assert bd.get_node(database=db, code=first.model.key[1]).id == node.id and bd.databases[db]["modified"] == modified
    assert again.totals["value"].iloc[0] == pytest.approx(first.totals["value"].iloc[0], rel=1e-12)
    phase = bd.get_node(database=db, code=first.model.phases[0].key[1])
    exc = next(iter(phase.technosphere()))
    exc["amount"] *= 2
    exc.save()
    edited = assess(EXAMPLE, indicators=["climate"])
    assert edited.totals["value"].iloc[0] == pytest.approx(first.totals["value"].iloc[0], rel=1e-9)
    assert bd.databases[db]["modified"] != modified


@pytest.mark.parametrize("path", sorted((ROOT / "examples").rglob("*.yaml")), ids=lambda p: p.name)
def test_libyaml_reads_what_pyyaml_reads(path):
    """The libyaml path gives the same document as PyYAML's own parser on every example."""
    text = path.read_text(encoding="utf-8")
    assert yamlfile._load(text) == yaml.load(text, Loader=yamlfile._BoundedLoader)


@pytest.mark.parametrize("text, message", [
    ("a: 1\na: 2\n", "line 2, column 1: not valid YAML (key 'a' given twice in one mapping (first on line 1); keep one)"),
    ("x: &a [1]\n" + "".join(f"y{i}: *a\n" for i in range(101)), "not valid YAML (more than 100 aliases)"),
    ("a: " + "[" * 22 + "]" * 22 + "\n", "not valid YAML (nested more than 20 levels deep)"),
    ("a: [1, 2\n", "not valid YAML"),
])
def test_libyaml_refusals_read_as_before(tmp_path, text, message):
    """Refusals name the line as PyYAML's own parser does (an error falls back to it)."""
    from bw_aicompute.errors import AicomputeError

    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(AicomputeError) as err:
        yamlfile.load_yaml(path)
    assert message in str(err.value)
