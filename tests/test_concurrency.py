"""Several aicompute processes at once on one data directory: every one exits 0, the project is
whole afterwards, every campaign is there, and the numbers are those of a sequential run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bw_aicompute.assessment import assess

EXAMPLES = Path(__file__).parents[1] / "examples"


def campaigns(tmp_path: Path) -> list[Path]:
    """Four different campaigns: the three examples and a renamed copy of one."""
    doc = yaml.safe_load((EXAMPLES / "bloom.yaml").read_text())
    doc["campaign"]["name"] = "bloom copy"
    copy = tmp_path / "bloom_copy.yaml"
    copy.write_text(yaml.safe_dump(doc))
    return [EXAMPLES / "bloom.yaml", EXAMPLES / "moshi_like.yaml", EXAMPLES / "finetune_measured_ppa.yaml", copy]


def run_all(data_dir: Path, commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "BRIGHTWAY2_DIR": str(data_dir), "BW_AICOMPUTE_LOCK_TIMEOUT": "120"}
    procs = [subprocess.Popen([sys.executable, "-m", "bw_aicompute", *c], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    out = []
    for p, c in zip(procs, commands):
        stdout, stderr = p.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(c, p.returncode, stdout, stderr))
    for r in out:
        assert r.returncode == 0, (r.args, r.stderr[-2000:])
        assert "Traceback" not in r.stderr and "locked" not in r.stderr
    return out


def assess_commands(files: list[Path], tmp_path: Path) -> list[list[str]]:
    return [["assess", str(f), "--indicator", "climate", "--indicator", "water", "--json", str(tmp_path / f"{f.stem}-{i}.json"), "--force"] for i, f in enumerate(files)]


def check_against_sequential(files: list[Path], tmp_path: Path) -> None:
    for i, f in enumerate(files):
        parallel = json.loads((tmp_path / f"{f.stem}-{i}.json").read_text())["totals"]
        sequential = assess(f, indicators=["climate", "water"]).totals.set_index("indicator")["value"]
        for label in ("climate", "water"):
            assert parallel[label]["value"] == pytest.approx(sequential[label], rel=1e-9), (f.name, label)


def check_project(data_dir: Path, names: list[str]) -> None:
    """The project is whole (read in this process: starting two more takes seconds): every
    database there and complete, and a setup finds nothing to do."""
    import bw2data as bd

    from bw_aicompute import setup_project
    from bw_aicompute.ownership import is_complete

    bd.projects.change_base_directories(data_dir, project_name="aicompute")
    for name in ["biosphere3", "aicompute-background", "aicompute", *names]:
        assert is_complete(bd.databases, name), name
    assert not setup_project("aicompute").changed


def test_setups_and_assesses_at_once_on_a_fresh_then_a_set_up_directory(ready_dir, tmp_path):
    data_dir = tmp_path / "parallel"
    files = campaigns(tmp_path)
    # a fresh directory: two setups and two assesses (each setting up the project) at once
    first = assess_commands(files[:2], tmp_path)
    run_all(data_dir, [["setup", "--quiet"], first[0], ["setup", "--quiet"], first[1]])
    check_project(data_dir, ["aicompute-campaign-bloom-final-training-luccioni-et-al-2023", "aicompute-campaign-moshi-like"])
    # the set-up project: four assesses of different campaigns at once
    run_all(data_dir, assess_commands(files, tmp_path))
    names = ["aicompute-campaign-moshi-like", "aicompute-campaign-bloom-copy", "aicompute-campaign-fine-tuning-with-measured-energy-and-a-wind-ppa"]
    check_project(data_dir, names)
    check_against_sequential(files, tmp_path)


def test_a_second_writer_waits_then_gives_up_with_one_message(ready_dir, monkeypatch, capsys):
    from filelock import FileLock

    from bw_aicompute.cli import main
    from bw_aicompute.locking import LOCK_NAME, data_directory

    monkeypatch.setenv("BW_AICOMPUTE_LOCK_TIMEOUT", "0.3")
    other = FileLock(str(data_directory() / LOCK_NAME), thread_local=False)  # another writer
    with other:
        assert main(["setup"]) == 2
    err = capsys.readouterr().err
    assert "waiting for another aicompute process on project 'aicompute'" in err
    assert "gave up after 0.3 s" in err and "Traceback" not in err
    assert main(["setup", "--quiet"]) == 0  # free again
