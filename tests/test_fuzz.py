"""Fuzzing, seeded and in-process: mutated copies of the shipped examples and of the real H200
power log give exit status 2 with one message, or a finite, non-negative result; never a
traceback, never NaN in the JSON output."""

import copy
import json
import math
import random
from pathlib import Path

import pytest
import yaml

from bw_aicompute.cli import main

EXAMPLES = Path(__file__).parents[1] / "examples"
TRACE = Path(__file__).parent / "data" / "h200_training_nvidia_smi.csv"
CASES = 160
VALUES = [
    0, -1, 1, 0.5, 2, 7, 1e-320, 1e308, 1.79e308, float("inf"), float("nan"), 10**400, 2**64 + 1,
    "", "x", "1.2.3 h", "12 MWh", "3 d", "inf", "nan", "-5 GPU-h", "x" * 300, None, True, [], {}, [[["deep"]]],
    {"kg_co2e": 1e300}, "H100", "FR", "withdrawal",
]


def leaves(doc, path=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from leaves(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from leaves(v, (*path, i))
    yield path


def mutate(doc: dict, rng: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice([1, 1, 2, 3])):
        path = rng.choice([p for p in leaves(doc) if p])
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = rng.random()
        if action < 0.75:
            parent[path[-1]] = rng.choice(VALUES)
        elif action < 0.85 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(["bogus", "gpu_hours", "energy", "telemetry", "grid"])] = rng.choice(VALUES)
    return doc


@pytest.mark.parametrize("chunk", range(4))
def test_mutated_campaigns_give_exit_2_or_finite_results(ready_dir, tmp_path, capsys, chunk):
    rng = random.Random(1000 + chunk)
    examples = [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]
    passed = 0
    for case in range(CASES // 4):
        doc = mutate(rng.choice(examples), rng)
        path = tmp_path / f"case{case}.yaml"
        try:
            path.write_text(yaml.safe_dump(doc, allow_unicode=True))
        except yaml.YAMLError:
            continue
        out = tmp_path / f"case{case}.json"
        rc = main(["assess", str(path), "--indicator", "climate", "--json", str(out)])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        if rc == 2:
            assert captured.err.startswith("aicompute: error: ") and captured.err.count("\n") == 1, captured.err
            assert len(captured.err) < 2000
            assert not out.exists()
            continue
        assert rc == 0, (doc, captured.err)
        text = out.read_text()
        assert "NaN" not in text and "Infinity" not in text
        value = json.loads(text)["totals"]["climate"]["value"]
        assert math.isfinite(value) and value >= 0, doc
        passed += 1
    print(f"chunk {chunk}: {passed} valid of {CASES // 4}")
    assert passed > 0  # the mutations leave some campaigns valid


def test_mutated_power_logs_give_exit_2_or_finite_energy(tmp_path, capsys):
    rng = random.Random(7)
    lines = TRACE.read_text().splitlines()
    tokens = ["", "[N/A]", "1e20 W", "-5 W", "nan", "inf", "abc", "2026/13/45 99:99:99.000", "99999999999999", ",,,,", "\x00", "1e308"]
    for case in range(40):
        mutated = list(lines)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(mutated))
            cells = mutated[i].split(",")
            cells[rng.randrange(len(cells))] = rng.choice(tokens)
            mutated[i] = ",".join(cells)
        path = tmp_path / f"log{case}.csv"
        path.write_text("\n".join(mutated) + "\n")
        rc = main(["telemetry", str(path), "--json", str(tmp_path / f"log{case}.json")])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        if rc == 2:
            assert captured.err.startswith("aicompute: error: ") and len(captured.err) < 2000, captured.err
            continue
        assert rc == 0
        data = json.loads((tmp_path / f"log{case}.json").read_text())
        assert math.isfinite(data["energy_kwh"]) and data["energy_kwh"] >= 0
