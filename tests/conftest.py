"""Every test runs in a Brightway data directory of its own, never the user's.

BRIGHTWAY2_DIR is pointed at a temporary folder before bw2data is imported (bw2data reads it at
import time), and each test then moves Brightway to its own `tmp_path` with
`projects.change_base_directories`.
"""

import contextlib
import gc
import os
import shutil
import tempfile
from pathlib import Path

os.environ["BRIGHTWAY2_DIR"] = tempfile.mkdtemp(prefix="bw_aicompute_session_")
os.environ.setdefault("BRIGHTWAY_NO_STRUCTLOG", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import warnings  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # bw2calc's note that pypardiso is not installed
    import bw2calc  # noqa: F401
import bw2data as bd  # noqa: E402
import pytest  # noqa: E402

from bw_aicompute import setup_project  # noqa: E402


@contextlib.contextmanager
def _without_gc_collect():
    """bw2data runs `gc.collect()` four times when it changes data directory (to release SQLite
    files on Windows): 0.3-0.5 s per test in a process holding pandas, scipy and matplotlib. The
    fixtures skip it; the code under test does not."""
    collect, gc.collect = gc.collect, lambda *args, **kwargs: 0
    try:
        yield
    finally:
        gc.collect = collect


def change_base(base: Path, project_name: str | None = None) -> None:
    """`projects.change_base_directories` without the garbage collections."""
    with _without_gc_collect():
        bd.projects.change_base_directories(base, project_name=project_name)


@pytest.fixture
def bw_dir(tmp_path: Path) -> Path:
    """An empty Brightway data directory for this test."""
    base = tmp_path / "bw"
    base.mkdir()
    change_base(base)
    return base


def _shared(tmp_path_factory, name: str) -> tuple[Path, "FileLock"]:
    """A folder shared by the pytest-xdist workers of this run (the parent of their temporary
    folders), with a lock: what one worker builds, the others copy."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    return root / name, FileLock(str(root / f"{name}.lock"))


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> Path:
    """A data directory in which `setup_project()` ran once for the whole run (copied per test:
    setup is the slowest step and most tests start from a set-up project). Built by the first
    worker that needs it; each worker then copies it, so no worker writes the shared one."""
    shared, lock = _shared(tmp_path_factory, "template")
    with lock:
        if not (shared / "complete").exists():
            build = shared / "bw"
            shutil.rmtree(shared, ignore_errors=True)
            build.mkdir(parents=True)
            change_base(build)
            setup_project("aicompute")
            (shared / "complete").write_text("")
    base = tmp_path_factory.mktemp("template") / "bw"
    shutil.copytree(shared / "bw", base)
    change_base(base, project_name="aicompute")
    return base


@pytest.fixture
def ready_dir(_template: Path, tmp_path: Path) -> Path:
    """A data directory holding a set-up `aicompute` project, current."""
    base = tmp_path / "bw"
    shutil.copytree(_template, base)
    change_base(base, project_name="aicompute")
    return base


@pytest.fixture(scope="session")
def exported_workbook(_template: Path, tmp_path_factory) -> Path:
    """The inventories of the set-up project exported once by the command
    (`aicompute export-inventories` takes 2 s); tests copy it before editing."""
    from bw_aicompute.cli import main

    shared, lock = _shared(tmp_path_factory, "export")
    path = shared / "inventories.xlsx"
    with lock:
        if not path.exists():
            shared.mkdir(parents=True, exist_ok=True)
            change_base(_template, project_name="aicompute")
            assert main(["export-inventories", str(path)]) == 0
    return path


class Grid:
    """A worksheet's cells as rows of values (what the inventory importer reads of a sheet), so
    that tests edit and validate a workbook in memory instead of saving and reading 10,000 rows
    (`bw_aicompute.excel.inventories.workbook_databases` takes an object with `worksheets`)."""

    def __init__(self, title: str, rows: list[list]):
        self.title, self.rows = title, rows

    def iter_rows(self, values_only: bool = True):
        return (tuple(r) for r in self.rows)


@pytest.fixture(scope="session")
def exported_grids(exported_workbook) -> dict[str, Grid]:
    """The exported workbook's sheets as grids, read once; a test that edits one restores it."""
    import openpyxl

    wb = openpyxl.load_workbook(exported_workbook, read_only=True)
    return {ws.title: Grid(ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in wb.worksheets}
