"""The command line: exit codes and messages."""

import os
import subprocess
import sys
from pathlib import Path

import bw2data as bd
import pytest

from bw_aicompute.cli import main


def test_setup_quiet_prints_nothing(ready_dir, capsys):
    """--quiet on a setup that installs something (the methods, deleted here): no summary, no
    progress lines."""
    installed = [m for m in bd.methods]
    for m in installed:
        bd.Method(m).deregister()
    assert main(["setup", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert set(bd.methods) == set(installed)


def test_status_lists_indicators(ready_dir, capsys):
    assert main(["status", "--project", "aicompute"]) == 0
    out = capsys.readouterr().out
    assert "biosphere3" in out
    assert "climate" in out and "IPCC 2021" in out
    assert "NOT INSTALLED" not in out


def test_status_of_missing_project_is_an_error(bw_dir, capsys):
    assert main(["status", "--project", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aicompute: error: project 'nope' does not exist")
    assert "Traceback" not in err
    assert "nope" not in bd.projects


def test_brightway_dir_that_is_a_file_is_an_error(bw_dir, tmp_path, monkeypatch, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("BRIGHTWAY2_DIR", str(afile))
    assert main(["setup"]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bogus"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_module_entry_point_in_a_fresh_data_directory(tmp_path, capsys, monkeypatch):
    """`python -m bw_aicompute setup` in a new process, with BRIGHTWAY2_DIR naming a folder that
    does not exist yet: it is created, and the output holds no log noise."""
    env = {**os.environ, "BRIGHTWAY2_DIR": str(tmp_path / "new" / "bw")}
    env.pop("BRIGHTWAY_NO_STRUCTLOG", None)
    env.pop("TQDM_DISABLE", None)
    run = subprocess.run([sys.executable, "-m", "bw_aicompute", "setup", "--project", "p"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Project 'p' in ")
    assert "(created)" in run.stdout and "installed biosphere3" in run.stdout and "Setup done" in run.stdout
    assert "INFO" not in run.stdout and "it/s" not in run.stderr
    assert "Traceback" not in run.stderr
    steps = [line for line in run.stderr.splitlines() if line.startswith("setup ")]  # one line per step on a first run
    assert [line.split(":")[0] for line in steps] == ["setup 1/3 biosphere", "setup 2/3 methods", "setup 3/3 inventories"]
    assert "setup " not in run.stdout
    # the same directory read in this process (a new process costs seconds of imports)
    from conftest import change_base

    change_base(Path(env["BRIGHTWAY2_DIR"]), project_name="p")
    assert main(["status", "--project", "p"]) == 0 and "water_withdrawal" in capsys.readouterr().out
    assert main(["setup", "--project", "p"]) == 0  # a second run: nothing to do, no progress lines
    out, err = capsys.readouterr()
    assert "nothing changed" in out and "setup " not in err
    monkeypatch.setenv("BRIGHTWAY2_DIR", env["BRIGHTWAY2_DIR"])
    assert main(["status", "--project", "missing"]) == 2
    assert capsys.readouterr().err.strip() == f"aicompute: error: project 'missing' does not exist in {env['BRIGHTWAY2_DIR']} (BRIGHTWAY2_DIR); run: aicompute setup --project missing"


EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "bloom.yaml")


@pytest.mark.parametrize(
    "target, message",
    [
        ("{tmp}/no/such/folder/r.json", "does not exist"),
        ("{tmp}", "is a folder"),
        ("/dev/full", "is not a regular file"),
        ("{example}", "is an input of this command"),
        ("{tmp}/exists.json", "exists; give --force to replace it"),
    ],
)
def test_bad_output_paths_are_refused_before_anything_is_done(bw_dir, tmp_path, capsys, target, message):
    (tmp_path / "exists.json").write_text("{}")
    path = target.format(tmp=tmp_path, example=EXAMPLE)
    before = open(EXAMPLE, "rb").read()
    assert main(["assess", EXAMPLE, "--json", path]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert "aicompute" not in bd.projects  # checked before the project is created
    assert open(EXAMPLE, "rb").read() == before
    assert (tmp_path / "exists.json").read_text() == "{}"


def test_read_only_folder_and_force(ready_dir, tmp_path, capsys):
    out = tmp_path / "r.json"
    out.write_text("old")
    assert main(["assess", EXAMPLE, "--indicator", "climate", "--json", str(out), "--force"]) == 0
    assert '"campaign"' in out.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".r.json")]  # no temporary file left
    new = tmp_path / "new.json"
    assert main(["assess", EXAMPLE, "--indicator", "climate", "--json", str(new)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not the temporary file's 0o600
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main(["assess", EXAMPLE, "--json", str(locked / "r.json")]) == 2
        assert "is not writable" in capsys.readouterr().err


def test_options_are_checked_before_the_project_is_made(bw_dir, capsys):
    assert main(["assess", EXAMPLE, "--method", "No | such"]) == 2
    assert "No | such" in capsys.readouterr().err
    assert main(["assess", EXAMPLE, "--background", "ecoinvent"]) == 2
    assert "link-ecoinvent" in capsys.readouterr().err
    assert "aicompute" not in bd.projects


def test_template_and_export_write_whole_files(ready_dir, tmp_path, capsys):
    out = tmp_path / "t.xlsx"
    assert main(["template", str(out)]) == 0
    assert main(["template", str(out)]) == 2 and "--force" in capsys.readouterr().err
    assert main(["template", str(out), "--force"]) == 0
    import openpyxl

    assert "phases" in openpyxl.load_workbook(out).sheetnames


def test_pypardiso_is_pointed_at_the_library_its_search_would_find(monkeypatch):
    """The CLI spares pypardiso's recursive search of the environment (0.4 s per command)."""
    import glob
    import importlib.util
    import os
    import sys

    from bw_aicompute import cli

    monkeypatch.delenv("PYPARDISO_MKL_RT", raising=False)
    cli._point_pypardiso_at_mkl()
    found = sorted(glob.glob(f"{sys.prefix}/[Ll]ib*/**/*mkl_rt*", recursive=True), key=len)  # pypardiso's own search
    if importlib.util.find_spec("pypardiso") is None or not found:
        assert "PYPARDISO_MKL_RT" not in os.environ
    else:
        assert os.environ["PYPARDISO_MKL_RT"] == found[0]
    monkeypatch.setenv("PYPARDISO_MKL_RT", "/a/user/choice")
    cli._point_pypardiso_at_mkl()
    assert os.environ["PYPARDISO_MKL_RT"] == "/a/user/choice"
