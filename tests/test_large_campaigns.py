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


def test_shipped_yaml_is_read_from_a_json_copy_of_the_same_bytes(tmp_path, monkeypatch):
    """The inventory and method files are read from a JSON copy made for their exact bytes:
    the same documents as libyaml's; another content is another copy (the old one removed); a
    document JSON cannot give back (a date, a number as key) gets no copy; an unwritable cache
    folder only means no copy."""
    import datetime

    from bw_aicompute.inventory.templates import inventory_files

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for path in inventory_files(None):
        first = yamlfile.load_data_file(path)
        assert first == yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        assert yamlfile.load_data_file(path) == first  # from the copy
    made = sorted(p.name for p in (tmp_path / "cache" / "bw_aicompute").iterdir())
    assert len(made) == len(inventory_files(None))
    f = tmp_path / "table.yaml"
    f.write_text("rows: [{a: 1}]\n")
    assert yamlfile.load_data_file(f) == {"rows": [{"a": 1}]}
    f.write_text("rows: [{a: 2}]\n")
    assert yamlfile.load_data_file(f) == {"rows": [{"a": 2}]}
    assert len(list((tmp_path / "cache" / "bw_aicompute").glob("table-*.json"))) == 1
    for text, doc in (("day: 2024-01-02\n", {"day": datetime.date(2024, 1, 2)}), ("2023: x\n", {2023: "x"})):
        g = tmp_path / "odd.yaml"
        g.write_text(text)
        assert yamlfile.load_data_file(g) == doc and yamlfile.load_data_file(g) == doc
        assert not list((tmp_path / "cache" / "bw_aicompute").glob("odd-*.json"))
    (tmp_path / "ro").write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "ro"))
    assert yamlfile.load_data_file(f) == {"rows": [{"a": 2}]}
