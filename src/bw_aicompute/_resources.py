"""Where the data folders of the package are: `inventories/` and `methods/`.

In a source checkout (and an editable install) they sit at the repository root; an installed
wheel carries them under `bw_aicompute/_data/`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder `name` (`"inventories"` or `"methods"`) shipped with the package."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bw_aicompute data folder {name!r} not found next to {_PACKAGE}")


def output_path(path: str | Path) -> Path:
    """A file to write: its folder must exist (checked before any work is done)."""
    from .errors import AicomputeError

    path = Path(path)
    if not path.resolve().parent.is_dir():
        raise AicomputeError(f"{path}: folder {path.resolve().parent} does not exist")
    return path


def fingerprint(*parts: bytes | str) -> str:
    """SHA-256 over the given parts, used to tell whether installed data is up to date."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()
