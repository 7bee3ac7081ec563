"""ISIC Rev.4 and CPC Ver.2.1 classifications of activities, as ecoinvent writes them in
Brightway (`classifications`: a list of (system, "code:title") pairs), from the rules of
`inventories/classifications/isic-cpc.yaml`."""

from __future__ import annotations

import functools
import re


from ._resources import data_dir
from .errors import AicomputeError
from .yamlfile import load_data

ISIC = "ISIC rev.4 ecoinvent"
CPC = "CPC"
#: ecoinvent writes an ISIC code and title cut to 80 characters.
ISIC_WIDTH = 80
#: Prefixes of campaign codes that several campaigns or a deployment share a database with.
_PREFIX = re.compile(r"^(?:v\d+-)?(?:serving-)?")


def rules_text() -> str:
    """The text of the rules file (a change of it rewrites the databases on `setup`)."""
    return (data_dir("inventories") / "classifications" / "isic-cpc.yaml").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _table() -> tuple[list[tuple[re.Pattern, str, str]], dict, dict]:
    doc = load_data(rules_text())
    rules = [(re.compile(r["codes"]), str(r["isic"]), str(r["cpc"])) for r in doc["rules"]]
    return rules, {str(k): v for k, v in doc["isic"].items()}, {str(k): v for k, v in doc["cpc"].items()}


def classify(code: str) -> list[tuple[str, str]]:
    """The classifications of the activity of code `code` (a sweep's `v<k>-` and a deployment's
    `serving-` prefixes ignored).

    Returns
    -------
    list of (str, str)
        `[("ISIC rev.4 ecoinvent", "NNNN:Title"), ("CPC", "NNNNN: Title")]`, as ecoinvent 3.x.

    Raises an error for a code that no rule of `inventories/classifications/isic-cpc.yaml` matches.
    """
    rules, isic, cpc = _table()
    bare = _PREFIX.sub("", code, count=1)
    for pattern, i, c in rules:
        if pattern.search(bare):
            return [(ISIC, f"{i}:{isic[i]}"[:ISIC_WIDTH]), (CPC, f"{c}: {cpc[c]}")]
    raise AicomputeError(f"activity code {code!r} matches no rule of inventories/classifications/isic-cpc.yaml; add one")


def classified(datasets: dict) -> dict:
    """`datasets` (key -> Brightway dataset) with the classifications of each set, in place."""
    for (_, code), ds in datasets.items():
        ds["classifications"] = classify(code)
    return datasets
