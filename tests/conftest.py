"""Every test runs in a Brightway data directory of its own, never the user's.

BRIGHTWAY2_DIR is pointed at a temporary folder before bw2data is imported (bw2data reads it at
import time), and each test then moves Brightway to its own `tmp_path` with
`projects.change_base_directories`.
"""

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


@pytest.fixture
def bw_dir(tmp_path: Path) -> Path:
    """An empty Brightway data directory for this test."""
    base = tmp_path / "bw"
    base.mkdir()
    bd.projects.change_base_directories(base)
    return base


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> Path:
    """A data directory in which `setup_project()` ran once (copied per test: setup is the
    slowest step and most tests start from a set-up project)."""
    base = tmp_path_factory.mktemp("template") / "bw"
    base.mkdir()
    bd.projects.change_base_directories(base)
    setup_project("aicompute")
    return base


@pytest.fixture
def ready_dir(_template: Path, tmp_path: Path) -> Path:
    """A data directory holding a set-up `aicompute` project, current."""
    base = tmp_path / "bw"
    shutil.copytree(_template, base)
    bd.projects.change_base_directories(base, project_name="aicompute")
    return base


@pytest.fixture(scope="session")
def exported_workbook(_template: Path, tmp_path_factory) -> Path:
    """The inventories of the set-up project exported once (`export-inventories` takes 2 s);
    tests copy it before editing."""
    from bw_aicompute.excel.inventories import export_inventories

    bd.projects.change_base_directories(_template, project_name="aicompute")
    path = tmp_path_factory.mktemp("export") / "inventories.xlsx"
    export_inventories(path)
    return path
