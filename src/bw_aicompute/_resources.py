"""Where the data folders of the package are (`inventories/` and `methods/`), fingerprints of
sources, and files written for the user: checked before any work is done, written whole or not
at all.

In a source checkout (and an editable install) the data folders sit at the repository root; an
installed wheel carries them under `bw_aicompute/_data/`.
"""

from __future__ import annotations

import functools

import hashlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from .errors import AicomputeError

_PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """Return the folder `name` (`"inventories"`, `"methods"` or `"examples"`) shipped with the
    package (found once per process: the package does not move)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bw_aicompute data folder {name!r} not found next to {_PACKAGE}")


def ecoinvent_versions() -> tuple[str, ...]:
    """The ecoinvent releases the package has a cut-off mapping for
    (`inventories/ecoinvent/mapping-<version>-cutoff.yaml`), oldest first."""
    names = (p.name[len("mapping-") : -len("-cutoff.yaml")] for p in (data_dir("inventories") / "ecoinvent").glob("mapping-*-cutoff.yaml"))
    return tuple(sorted(names, key=lambda v: tuple(int(x) for x in v.split("."))))


#: What the parts of a workbook (a zip archive) may hold, uncompressed: the exported inventories
#: are 4.4 MB, a results workbook 0.3 MB; a "zip bomb" whose sharedStrings expands to gigabytes
#: is refused before openpyxl reads it.
MAX_WORKBOOK_BYTES = 100_000_000


def check_workbook_archive(path: Path, limit: int = MAX_WORKBOOK_BYTES) -> None:
    """Refuse a file that is not a zip archive (an .xlsx is one) or whose parts add up to more
    than `limit` bytes uncompressed, as the archive declares them (zipfile never inflates a
    part beyond its declared size)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise AicomputeError(f"{path}: not a readable Excel workbook (not a zip archive: {exc})") from None
    if total > limit:
        raise AicomputeError(f"{path}: its parts expand to {total:,} bytes (more than {limit:,}); not a workbook this tool reads")


#: What makes a spreadsheet read a text cell as a formula (OWASP, "CSV injection"): a leading
#: `=`, `+`, `-`, `@`, tab or carriage return.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    """Whether `value` is text that a spreadsheet would read as a formula (a number written
    as text, `-5`, is not)."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return value[:1] in ("\t", "\r", "=", "@")


def csv_text(value: Any) -> Any:
    """A cell for a CSV file: text a spreadsheet would read as a formula gets a leading `'`
    (shown as text, never run); anything else unchanged."""
    return "'" + value if formula_like(value) else value


def csv_safe(df: "pd.DataFrame") -> "pd.DataFrame":
    """A copy of the table `df` with every formula-like text cell and header made inert
    (`csv_text`), for `to_csv`."""
    from pandas.api.types import is_numeric_dtype

    out = df.rename(columns=csv_text)
    for i in range(out.shape[1]):
        if not is_numeric_dtype(out.iloc[:, i]):
            out.isetitem(i, out.iloc[:, i].map(csv_text))
    return out


def text_cells(book: Any) -> None:
    """Make every formula-like text cell of an openpyxl workbook being written plain text: the
    value is kept and marked as text (`quotePrefix`, what Excel does for a typed `'`), so it is
    shown and read back as typed, never run. The workbooks of this package hold no formulas."""
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" or formula_like(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def output_path(path: str | Path, inputs: Iterable[str | Path] = (), force: bool = True) -> Path:
    """A file to write, checked before any work is done.

    Parameters
    ----------
    path : str or Path
        The file.
    inputs : iterable of paths
        The files the command reads: an output is never one of them.
    force : bool
        Whether an existing file may be replaced (the command line's `--force`).

    Raises an error when the folder is missing or not writable, the path is a folder or a
    device, inside the Brightway data directory (with or without `force`: a project's files
    are Brightway's), an input, or an existing file without `force`. A symbolic link is the name of the
    output: `atomic_write` replaces the link itself, never the file it points to.
    """
    path = Path(path)
    folder = link_folder(path)
    if not folder.is_dir():
        raise AicomputeError(f"{path}: folder {folder} does not exist")
    if path.is_dir():
        raise AicomputeError(f"{path}: is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise AicomputeError(f"{path}: is not a regular file; give a file name")
    if not os.access(folder, os.W_OK):
        raise AicomputeError(f"{path}: folder {folder} is not writable")
    outside_brightway(path)
    for source in inputs:
        if _same_file(path, Path(source)):
            raise AicomputeError(f"{path}: is an input of this command; write the output to another file")
    if path.exists() and not force:
        raise AicomputeError(f"{path}: exists; give --force to replace it")
    return path


def brightway_dirs() -> list[Path]:
    """The Brightway data and log directories (resolved), as bw2data uses them: the one it is
    set to where it is imported, else `BRIGHTWAY2_DIR`, else platformdirs' default."""
    import sys

    bd = sys.modules.get("bw2data")
    if bd is not None and hasattr(bd, "projects"):
        dirs = [bd.projects._base_data_dir, bd.projects._base_logs_dir]
    elif os.environ.get("BRIGHTWAY2_DIR"):
        dirs = [Path(os.environ["BRIGHTWAY2_DIR"])]
    else:
        from platformdirs import PlatformDirs

        found = PlatformDirs("Brightway3", "pylca")
        dirs = [Path(found.user_data_dir), Path(found.user_log_dir)]
    return [Path(os.path.abspath(d)).resolve() for d in dirs]


def outside_brightway(path: str | Path) -> None:
    """Refuse an output (file or folder) inside the Brightway data or log directory, where
    every file is Brightway's (a project's SQLite database, processed arrays, logs)."""
    where = Path(os.path.abspath(path))
    where = where.parent.resolve() / where.name
    for data in brightway_dirs():
        if where.is_relative_to(data) or where.resolve().is_relative_to(data):
            raise AicomputeError(f"{path}: is inside the Brightway data directory {data}; write the output elsewhere")


def link_folder(path: Path) -> Path:
    """The folder that holds the name `path` (for a symbolic link, the link's folder, not its
    target's), resolved."""
    return Path(os.path.abspath(path)).parent.resolve()


def _mode_for(path: Path) -> int:
    """The permissions a written file gets: those of the file it replaces, else the usual ones
    for a new file (0o666 less the umask; a temporary file is created 0o600), also in place of
    a symbolic link."""
    if path.exists() and not path.is_symlink():
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write a file whole or not at all: `write(tmp)` writes a temporary file in the target's
    folder (same suffix, so that writers choosing a format by suffix work), which then replaces
    the target. On any failure the target is untouched and the temporary file removed. A
    target that is a symbolic link is replaced by the file: what it pointed to is never written."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=link_folder(path), prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except OSError as exc:
        raise AicomputeError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_text(document: Any) -> str:
    """JSON of a document, with numbers that are not finite written as null (JSON has no NaN)."""
    return json.dumps(_finite(document), indent=2, allow_nan=False, default=str)


def write_json(path: str | Path, document: Any) -> Path:
    """Write a document as JSON, atomically."""
    text = json_text(document)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def fingerprint(*parts: bytes | str) -> str:
    """SHA-256 over the given parts, used to tell whether installed data is up to date."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


def progress(items: Iterable | None = None, show: bool = False, desc: str = "", total: int | None = None, unit: str = "it"):
    """A tqdm progress bar on stderr over `items` (or to `update()` by hand), drawn only if
    `show` (the CLI: not with `--quiet` or `--json`) and stderr is a terminal."""
    import sys

    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, unit=unit, disable=not (show and sys.stderr.isatty()), leave=False)
