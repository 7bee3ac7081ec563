"""LCIA methods: the indicator names users type, the standard methods taken from bw2io, and the
custom methods defined in `methods/`.

The standard methods come from the LCIA implementation that bw2io ships
(`bw2io/data/lcia/lcia_39_ecoinvent.zip`, ecoinvent 3.9 LCIA). `bw2io.bw2setup()` and
`bw2io.create_default_lcia_methods()` fail on it (brightway2-io#277, brightway2-data#167: the CF
inputs arrive from JSON as lists, which `bw2data.Method.write` rejects), and installing all 762
methods takes minutes. Here only the methods named in `methods/indicators.yaml` are installed, and
each characterization factor is matched to the project's biosphere by flow (name, categories), so
that a biosphere database with another name (an ecoinvent import's `ecoinvent-3.x-biosphere`)
works as well as `biosphere3`.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ._resources import data_dir, fingerprint
from .errors import AicomputeError
from .yamlfile import load_data_file

#: The indicators assessed when none is named: climate change, water use and mineral resource use.
DEFAULT_INDICATORS = ("climate", "water", "adp_minerals")

MethodName = tuple[str, ...]
FlowKey = tuple[str, tuple[str, ...]]  # (name, categories)



@dataclass(frozen=True)
class Indicator:
    """A short indicator name (`climate`) and the Brightway method it stands for."""

    name: str
    method: MethodName
    description: str


@dataclass(frozen=True)
class CustomMethod:
    """A method defined in `methods/custom/*.yaml`: factors keyed by flow (name, categories, unit)."""

    name: MethodName
    unit: str
    description: str
    factors: tuple[tuple[str, tuple[str, ...], str, float], ...]
    path: Path
    source_bytes: bytes
    located: tuple[tuple[str, float], ...] = ()  # (location, factor minus the world factor)


def _read_yaml(path: Path) -> object:
    try:
        return load_data_file(path)
    except yaml.YAMLError as exc:
        raise AicomputeError(f"{path}: not valid YAML: {exc}") from None


def indicators() -> dict[str, Indicator]:
    """Indicator names mapped to method tuples, as listed in `methods/indicators.yaml`."""
    path = data_dir("methods") / "indicators.yaml"
    data = _read_yaml(path)
    out = {}
    for key, spec in data["indicators"].items():
        out[key] = Indicator(key, tuple(spec["method"]), " ".join(spec.get("description", "").split()))
    return out


def custom_methods() -> list[CustomMethod]:
    """The custom methods defined in `methods/custom/*.yaml`, sorted by file name."""
    out = []
    for path in sorted((data_dir("methods") / "custom").glob("*.yaml")):
        raw = path.read_bytes()
        spec = _read_yaml(path)
        try:
            factors = tuple(
                (f["name"], tuple(f["categories"]), f["unit"], float(f["cf"])) for f in spec["factors"]
            )
            located = spec.get("located") or {}
            deltas = tuple((str(r["location"]), float(r["cf"]) - float(located["world_cf"])) for r in located.get("rows", []))
            out.append(
                CustomMethod(
                    name=tuple(spec["name"]),
                    unit=spec["unit"],
                    description=" ".join(spec["description"].split()),
                    factors=factors,
                    path=path,
                    source_bytes=raw,
                    located=deltas,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AicomputeError(f"{path}: malformed method definition ({exc!r})") from None
    return out


def standard_method_names() -> list[MethodName]:
    """Standard (bw2io-shipped) methods to install: those of the indicators plus the extras."""
    custom = {m.name for m in custom_methods()}
    data = _read_yaml(data_dir("methods") / "indicators.yaml")
    names = [i.method for i in indicators().values() if i.method not in custom]
    names += [tuple(n) for n in data.get("extra_standard_methods", [])]
    return list(dict.fromkeys(names))


def bw2io_lcia_path() -> Path:
    """The LCIA file shipped with bw2io (found without importing bw2io, which is slow)."""
    spec = importlib.util.find_spec("bw2io")
    return Path(spec.origin).parent / "data" / "lcia" / "lcia_39_ecoinvent.zip"


def bw2io_version() -> str:
    """The installed bw2io version (its LCIA file is the source of the standard methods)."""
    return importlib.metadata.version("bw2io")


def load_bw2io_methods(names: set[MethodName]) -> dict[MethodName, dict]:
    """Read the named methods from bw2io's LCIA file, with names and CF categories as tuples.

    This is the workaround for brightway2-io#277: the file is JSON, which has no tuples. The
    file (1 s to parse) is read once per process; treat the result as read-only.
    """
    return _load_bw2io_methods(frozenset(names), bw2io_version())


@functools.lru_cache(maxsize=4)
def _load_bw2io_methods(names: frozenset, version: str) -> dict[MethodName, dict]:
    with zipfile.ZipFile(bw2io_lcia_path()) as zf:
        data = json.load(zf.open("data.json"))
    out = {}
    for m in data:
        name = tuple(m["name"])
        if name in names:
            m["name"] = name
            for cf in m["exchanges"]:
                cf["categories"] = tuple(cf["categories"])
                cf["input"] = tuple(cf["input"])
            out[name] = m
    missing = names - set(out)
    if missing:
        raise AicomputeError(
            f"methods not found in {bw2io_lcia_path()} (bw2io {bw2io_version()}): {sorted(missing)}"
        )
    return out


def find_method(name: MethodName, installed) -> MethodName | None:
    """Return `name` if installed, or an installed copy with a version prefix
    (`("ecoinvent-3.10", *name)`, as written by `bw2io.import_ecoinvent_release`)."""
    if name in installed:
        return name
    prefixed = sorted(m for m in installed if len(m) == len(name) + 1 and tuple(m[1:]) == name)
    return prefixed[-1] if prefixed else None


def resolve_indicator(name: str) -> Indicator:
    """Indicator by its short name; unknown names raise an error listing the known ones."""
    known = indicators()
    if name not in known:
        raise AicomputeError(f"unknown indicator {name!r}; known: {', '.join(known)}")
    return known[name]


def standard_fingerprint(name: MethodName, biosphere: str) -> str:
    """Fingerprint of a standard method as installed against `biosphere` (and its generation)."""
    from .ownership import generation

    return fingerprint("standard", repr(name), bw2io_version(), generation(biosphere))


def custom_fingerprint(method: CustomMethod, biosphere: str) -> str:
    """Fingerprint of a custom method as installed against `biosphere` (and its generation)."""
    from .ownership import generation

    from .water import LOCATED_DB

    return fingerprint("custom", method.source_bytes, generation(biosphere), generation(LOCATED_DB) if method.located else "")
