"""ecoinvent cut-off activity names by release, derived from public evidence only (no ecoinvent
data): the 3.5 activity list with ecoinvent's change reports applied in order, plus the
partial 3.9.1 list (see tests/data/ecoinvent/LICENSE-NOTE.md)."""

import csv
import gzip
import io
import json
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "ecoinvent"
RELEASES = ["3.5", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12"]

Name = tuple[str, str, str]  # (name, reference product, location)


def _key(d: dict) -> Name:
    return (d["name"], d["reference product"], d["location"])


def _csv(path: Path) -> set[Name]:
    raw = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    return {_key(row) for row in csv.DictReader(io.StringIO(raw))}


def change_report(source: str, target: str) -> dict:
    """The change report between two consecutive cut-off releases (`replace`, `disaggregate`)."""
    path = DATA / f"ecoinvent-{source}-cutoff-ecoinvent-{target}-cutoff.json.gz"
    return json.loads(gzip.decompress(path.read_bytes()))


def _apply(names: set[Name], report: dict) -> set[Name]:
    """Names after one change report: every source is gone, every target exists."""
    out = set(names)
    for entry in report.get("replace", []):
        out.discard(_key(entry["source"]))
        out.add(_key(entry["target"]))
    for entry in report.get("disaggregate", []):
        out.discard(_key(entry["source"]))
        out.update(_key(t) for t in entry["targets"])
    return out


@lru_cache(maxsize=None)
def activity_names(release: str) -> frozenset[Name]:
    """(name, reference product, location) of the activities known to exist in `release`."""
    names = _csv(DATA / "ecoinvent-3.5-cutoff-activities.csv.gz")
    partial = set()
    for source, target in zip(RELEASES, RELEASES[1:]):
        if RELEASES.index(target) > RELEASES.index(release):
            break
        report = change_report(source, target)
        names, partial = _apply(names, report), _apply(partial, report)
        if target == "3.9":
            partial = _csv(DATA / "ecoinvent-3.9.1-cutoff-activities-partial.csv")
    return frozenset(names | partial)


def renamed(source_release: str, name: Name) -> Name | None:
    """What `name` became in the release after `source_release`, if the change report says."""
    target = RELEASES[RELEASES.index(source_release) + 1]
    for entry in change_report(source_release, target).get("replace", []):
        if _key(entry["source"]) == name:
            return _key(entry["target"])
    return None
