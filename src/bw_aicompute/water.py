"""Regionalised water scarcity: the location flows that say where water is consumed.

Consumed water is `Water` emitted to air in every dataset (what EF v3.1 water use and the
`water_consumption` indicator count). A dataset whose water is consumed at a known place (the
datacentre's on-site water, a grid mix's generation water) also emits the same volume of the
location flow "Water, consumed in <location>" of the package's database
`aicompute-water-locations`. The `water_scarcity` method (`methods/custom/water_scarcity.yaml`,
AWARE 2.0) gives `Water` the world factor and each location flow the location's factor minus
the world factor, so that the total is the water of each place times its own factor, solved by
plain bw2calc with a standard characterisation matrix.

Reference: AWARE2.0, J. Ind. Ecol. 2025, doi:10.1111/jiec.70023 (AWARE 2.0); Boulay et
al. 2018, Int. J. LCA 23, 368-378 (AWARE).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass


from ._resources import data_dir, fingerprint
from .errors import AicomputeError
from .yamlfile import load_data

#: The package-owned database of location flows (no "biosphere" in its name: it is not the
#: project's biosphere, see `bw_aicompute.project.find_biosphere`).
LOCATED_DB = "aicompute-water-locations"
METHOD_FILE = "water_scarcity.yaml"
_NAMESPACE = uuid.UUID("5b1f4c0e-7a53-4d3e-9a55-2f0f8f2a6c11")


@dataclass(frozen=True)
class Place:
    """A location with its AWARE factor (m3 world-eq deprived per m3 consumed), the AWARE
    location the factor is read from, and a note when it is a fallback."""

    location: str
    cf: float
    aware: str
    note: str = ""


@functools.lru_cache(maxsize=1)
def _table() -> tuple[float, dict[str, Place]]:
    path = data_dir("methods") / "custom" / METHOD_FILE
    spec = load_data(path.read_text(encoding="utf-8"))
    try:
        located = spec["located"]
        places = {str(r["location"]): Place(str(r["location"]), float(r["cf"]), str(r["aware"]), str(r.get("note") or "")) for r in located["rows"]}
        return float(located["world_cf"]), places
    except (KeyError, TypeError, ValueError) as exc:
        raise AicomputeError(f"{path}: malformed 'located' table ({exc!r})") from None


def world_cf() -> float:
    """The factor of water consumed at an unknown place (m3 world-eq per m3)."""
    return _table()[0]


def places() -> dict[str, Place]:
    """Every location that has a location flow, with its factor."""
    return dict(_table()[1])


def flow_name(location: str) -> str:
    """The name of the location flow of `location`."""
    return f"Water, consumed in {location}"


def is_located_flow(name: str) -> bool:
    """Whether `name` is the name of a location flow."""
    return name.startswith("Water, consumed in ") and name[len("Water, consumed in ") :] in _table()[1]


def flow_code(location: str) -> str:
    """The code (a UUID, stable across installs) of the location flow of `location`."""
    return str(uuid.uuid5(_NAMESPACE, f"water consumed in {location}"))


def located_key(location: str | None) -> tuple[str, str] | None:
    """The key of the location flow of `location`, or None (the world, an unknown place)."""
    if not location or location not in _table()[1]:
        return None
    return (LOCATED_DB, flow_code(location))


def flows_data() -> dict[tuple[str, str], dict]:
    """The datasets of `aicompute-water-locations`: one elementary flow per location."""
    out = {}
    world = world_cf()
    for p in places().values():
        note = f" {p.note}" if p.note else ""
        out[(LOCATED_DB, flow_code(p.location))] = {
            "name": flow_name(p.location),
            "categories": ("air",),
            "unit": "cubic meter",
            "type": "emission",
            "location": p.location,
            "comment": (
                f"Location tag of consumed water: the m3 of `Water` to air (counted there) that are consumed in {p.location}. "
                f"Characterised only by water_scarcity: AWARE 2.0 factor of {p.aware} {p.cf:g} minus the world factor {world:g}.{note}"
            ),
        }
    return out


def located_fingerprint() -> str:
    """Fingerprint of the location flows (their source file)."""
    return fingerprint("water-locations", (data_dir("methods") / "custom" / METHOD_FILE).read_bytes())


def water_to_air_keys(biosphere: str, flows: dict, codes: dict) -> set[tuple[str, str]]:
    """Keys of the `Water` to air flows (consumed water) of a biosphere, from its flow index
    ((name, categories, unit) -> id) and codes (id -> code)."""
    return {(biosphere, codes[i]) for (name, cats, _), i in flows.items() if name == "Water" and tuple(cats)[:1] == ("air",)}


def own_water(exchanges: list[dict], water_keys: set) -> tuple[float, str | None]:
    """A dataset's own `Water` to air (m3 per unit), and its formula where an amount has one."""
    excs = [e for e in exchanges if e["type"] == "biosphere" and e["input"] in water_keys]
    formula = " + ".join(f"({e.get('formula', repr(e['amount']))})" for e in excs) if any("formula" in e for e in excs) else None
    return sum(e["amount"] for e in excs), formula


def located_water(exchanges: list[dict], water_keys: set, provider_water: dict, tagged: set) -> tuple[float, str | None]:
    """The volume (m3) of water a dataset consumes at its own location, and its formula.

    It is the dataset's own `Water` to air plus, through each technosphere input whose
    provider carries no location flow of its own, that provider's `Water` to air per unit
    times the input's amount (the generation technologies of a grid mix).

    Parameters
    ----------
    exchanges : list of dict
        The dataset's exchanges (Brightway exchange data, with `input`, `type`, `amount` and
        an optional `formula`).
    water_keys : set
        Keys of the `Water` to air flows of the project's biosphere.
    provider_water : dict
        Provider key -> (its own `Water` to air in m3 per unit, its formula or None), see
        `own_water`.
    tagged : set
        Keys of the providers that carry their own location flow (not counted here).

    Returns
    -------
    (float, str or None)
        The volume, and a formula when one of the counted amounts has one (else None), so
        that Monte Carlo draws of a parameter move the location flow with the water.
    """
    total, terms, formula = 0.0, [], False
    own, own_formula = own_water(exchanges, water_keys)
    if own:
        total, formula = own, own_formula is not None
        terms.append(own_formula or repr(own))
    for exc in exchanges:
        if exc["type"] != "technosphere" or exc["input"] in tagged or not provider_water.get(exc["input"], (0.0, None))[0]:
            continue
        per, per_formula = provider_water[exc["input"]]
        total += exc["amount"] * per
        formula = formula or "formula" in exc or per_formula is not None
        terms.append(f"({exc.get('formula', repr(exc['amount']))}) * ({per_formula or repr(per)})")
    return total, (" + ".join(terms) if formula else None)


def is_located(exchange: dict) -> bool:
    """Whether an exchange is a location flow (of `aicompute-water-locations`)."""
    return exchange.get("type") == "biosphere" and tuple(exchange["input"])[0] == LOCATED_DB


def tag(exchanges: list[dict], location: str, water_keys: set, provider_water: dict, tagged: set, what: str) -> list[dict]:
    """The exchanges of a dataset whose water is consumed at `location`, with exactly one
    location flow: the one place where located water is tagged (inventories, campaign grids,
    datacentre operations, contracts).

    Location flows already among `exchanges` (an aggregated inventory of a grid, a dataset read
    back from a workbook) are dropped, then the volume of `located_water` is tagged once, so no
    path can count a place's correction twice.

    Parameters
    ----------
    exchanges : list of dict
        The dataset's exchanges.
    location : str
        Where the water is consumed (a location with a flow, else nothing is tagged).
    water_keys, provider_water, tagged
        As for `located_water`.
    what : str
        What the water is, for the exchange's source.

    Returns
    -------
    list of dict
        The exchanges without their former location flows, plus the new one (if any water).
    """
    kept = [e for e in exchanges if not is_located(e)]
    amount, formula = located_water(kept, water_keys, provider_water, tagged)
    exc = located_exchange(location, amount, formula, what)
    return kept + ([exc] if exc is not None else [])


def located_exchange(location: str, amount: float, formula: str | None, what: str) -> dict | None:
    """The location-flow exchange of `amount` m3 consumed in `location` (None for none)."""
    key = located_key(location)
    if key is None or amount <= 0:
        return None
    source = f"derived: {what} (the m3 of Water to air consumed in {location}), tagged with its location for water_scarcity (AWARE 2.0)"
    exc = {"input": key, "amount": float(amount), "type": "biosphere", "unit": "cubic meter", "source": source, "comment": source, "derived": "located water"}
    if formula:
        exc["formula"] = formula
    return exc
