"""Comparing campaigns: values as each file assessed alone, differences, and paired samples
(a campaign against an exact copy of itself differs by zero in every iteration)."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from bw_aicompute.assessment import assess
from bw_aicompute.cli import main
from bw_aicompute.comparison import compare

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_side_by_side_and_paired(ready_dir, tmp_path):
    doc = yaml.safe_load((EXAMPLES / "moshi_like.yaml").read_text())
    doc["hardware"]["gpu"] = "B200"
    b200 = tmp_path / "moshi_b200.yaml"
    b200.write_text(yaml.safe_dump(doc))
    copy = tmp_path / "copy.yaml"
    shutil.copy(EXAMPLES / "moshi_like.yaml", copy)
    c = compare([EXAMPLES / "moshi_like.yaml", b200, copy], indicators=["climate", "water"], iterations=60, seed=4)
    assert c.labels == ["moshi-like (moshi_like.yaml)", "moshi-like (moshi_b200.yaml)", "moshi-like (copy.yaml)"]
    t = c.table.set_index(["indicator", "item"])
    alone = assess(b200, indicators=["climate"], replace=True).totals.set_index("indicator")["value"]
    assert t.loc[("climate", "total"), c.labels[1]] == pytest.approx(alone["climate"], rel=1e-6)
    total_a = t.loc[("climate", "total"), c.labels[0]]
    assert t.loc[("climate", "total"), f"{c.labels[1]} - {c.labels[0]}"] == pytest.approx(alone["climate"] - total_a, rel=1e-6)
    stages = t.loc["climate"].drop("total")[c.labels[0]].sum()
    assert stages == pytest.approx(total_a, rel=1e-6)
    u = c.uncertainty.set_index(["indicator", "campaign"])
    same = u.loc[("climate", c.labels[2])]
    # paired: the same draws, so the copy differs by round-off only
    assert abs(same["difference p2_5"]) <= 1e-9 * total_a and abs(same["difference p97_5"]) <= 1e-9 * total_a
    other = u.loc[("climate", c.labels[1])]
    assert 0 < other["difference p2_5"] < other["difference p97_5"] and other["share higher"] == 1.0


def test_cli_compare_outputs_and_bad_input(ready_dir, tmp_path, capsys):
    copy = tmp_path / "bloom_copy.yaml"
    doc = yaml.safe_load((EXAMPLES / "bloom.yaml").read_text())
    doc["site"]["pue"] = 1.5
    copy.write_text(yaml.safe_dump(doc))
    out_json, out_png = tmp_path / "c.json", tmp_path / "c.svg"
    assert main(["compare", str(EXAMPLES / "bloom.yaml"), str(copy), "--indicator", "climate", "--json", str(out_json), "--plot", str(out_png)]) == 0
    text = capsys.readouterr().out
    assert "A = BLOOM" in text and "B vs A" in text
    rows = json.loads(out_json.read_text())["rows"]
    keys = list(rows[0])
    assert rows[0]["item"] == "total" and keys[3].endswith("(bloom.yaml)") and keys[4].endswith("(bloom_copy.yaml)")
    assert rows[0][keys[4]] > rows[0][keys[3]]  # a higher PUE
    assert out_png.read_text().lstrip().startswith("<?xml")
    assert main(["compare", str(EXAMPLES / "bloom.yaml")]) == 2
    assert "two campaign files or more" in capsys.readouterr().err
    assert main(["compare", str(EXAMPLES / "bloom.yaml"), str(copy), "--plot", "x.gif"]) == 2


def test_plots_leave_room_above_the_tallest_bar():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bw_aicompute.report import headroom

    fig, ax = plt.subplots()
    ax.bar([0, 1], [3.0, 10.0])
    headroom(ax, [3.0, 12.0])  # an error bar reaching 12
    assert ax.get_ylim() == (0.0, pytest.approx(13.2))
    plt.close(fig)
