"""Reading a campaign file (YAML, or the same content in an Excel workbook) into a validated
`Campaign`. Nothing touches Brightway: a file is validated completely before anything is
written, and every problem names the file and the field."""

from __future__ import annotations

import csv
import difflib
import graphlib
import math
import re
from pathlib import Path
from typing import Any

from ..errors import AicomputeError, InputError, Where, quote
from ..inventory import tables as inventory_tables
from .schema import (
    SCENARIO_TECHNOLOGIES,
    GridScenario,
    CAMPAIGN_KEYS,
    CONTRACT_KEYS,
    CONTRACT_TYPES,
    COUNT_MULTIPLIERS,
    COUNT_WORDS,
    DEFAULT_KEYS,
    DEPLOYMENT_KEYS,
    ENERGY_UNITS,
    GPU_TIME_UNITS,
    GRID_KEYS,
    HARDWARE_KEYS,
    KINDS,
    MAX_NAME,
    MEASURED_UNITS,
    MAX_PHASES,
    MODEL_KEYS,
    OVERRIDE_KEYS,
    PHASE_KEYS,
    RANGES,
    SERVING_KEYS,
    SITE_KEYS,
    TELEMETRY_KEYS,
    TIME_UNITS,
    UNIT_PLURALS,
    UNIT_WORDS,
    UNITS,
    Campaign,
    Contract,
    Deployment,
    Hardware,
    ModelSize,
    Override,
    Phase,
    Site,
)
from .workbook import read_campaign_workbook
from ..yamlfile import load_yaml

_QUANTITY = re.compile(r"\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z-]+)\s*")


class Reader:
    """Checks the values of one campaign document, naming the file and the field of every
    problem."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        self.where = Where(file=self.path)
        self.resolved: list[str] = []  # what an alias was read as, for the report
        self.cells: dict[str, tuple[str, int, str | None]] = {}  # a workbook's field -> (sheet, row, column)
        self.files: list[Path] = [Path(path)]  # the files read: outputs are never one of them

    def fail(self, field_: str, problem: str) -> InputError:
        """An error about `field_` (a dotted path such as `site.pue`), at its sheet, row and
        column when the campaign came from a workbook."""
        key = re.sub(r" \([^)]*\)", "", field_)
        place = self.cells.get(key) or next((self.cells[k] for k in sorted(self.cells, key=len, reverse=True) if key.startswith(k + ".")), None)
        if place is None:
            return self.where.error(problem, field=field_)
        sheet, row, column = place
        return self.where.error(problem, field=field_, sheet=sheet, row=row, column=column, what=f"field {field_}")

    def mapping(self, value: Any, field_: str) -> dict:
        """`value`, which must be a mapping."""
        if not isinstance(value, dict):
            raise self.fail(field_, "must be a mapping of keys to values")
        return value

    def known_keys(self, value: dict, allowed: tuple[str, ...], field_: str) -> None:
        """Refuse keys not in `allowed`, suggesting the closest."""
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(allowed)}"
                name = str(key)[:60]
                raise self.fail(f"{field_}.{name}" if field_ else name, f"unknown field{hint}")

    def text(self, value: Any, field_: str, required: bool = True) -> str:
        """A text value (numbers are taken as text); '' when absent and not required."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(field_, "is required")
            return ""
        if isinstance(value, bool):  # YAML 1.1 reads NO (Norway), yes, off... as booleans
            raise self.fail(field_, f"must be text, not {quote(value)} (YAML reads NO, yes, on, off as true/false: put the text in quotes, e.g. 'NO')")
        if not isinstance(value, (str, int, float)):
            raise self.fail(field_, f"must be text, not {quote(value)}")
        return str(value).strip()

    def _quantity(self, value: str, field_: str, units: dict[str, float]) -> float:
        try:  # a bare number that YAML read as text (39.3e6: YAML 1.1 floats need 39.3e+6)
            return float(value)
        except ValueError:
            pass
        m = _QUANTITY.fullmatch(value)
        if not m:
            raise self.fail(field_, f"{quote(value)} is not a number followed by a unit ({', '.join(units)})")
        number, unit = m.groups()
        if unit not in units:
            close = difflib.get_close_matches(unit, list(units), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise self.fail(field_, f"unknown unit {quote(unit)}{hint}; use one of {', '.join(units)}")
        try:
            return float(number) * units[unit]
        except (ValueError, OverflowError):
            raise self.fail(field_, f"{quote(value)} is not a number followed by a unit ({', '.join(units)})") from None

    def number(self, value: Any, field_: str, units: dict[str, float] | None = None, positive: bool = True, allow_zero: bool = False) -> float:
        """A finite number, or a text `"<number> <unit>"` converted to the field's base unit."""
        if isinstance(value, bool):
            raise self.fail(field_, f"must be a number, not {quote(value)}")
        if isinstance(value, str) and units:
            value = self._quantity(value, field_, units)
        elif isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self.fail(field_, f"{quote(value)} is not a number") from None
        if not isinstance(value, (int, float)):
            raise self.fail(field_, f"must be a number, not {quote(value)}")
        try:
            value = float(value)
        except OverflowError:
            raise self.fail(field_, "is too large a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise self.fail(field_, "must be a finite number")
        if positive and (value < 0 or (value == 0 and not allow_zero)):
            raise self.fail(field_, f"must be {'zero or ' if allow_zero else ''}positive, got {value:g}")
        return self.within(value, field_)

    def within(self, value: float, field_: str) -> float:
        """`value` if it lies in the physical range of its field (`RANGES`)."""
        lo, hi = RANGES.get(field_.rsplit(".", 1)[-1], (-math.inf, math.inf))
        if not lo <= value <= hi:
            raise self.fail(field_, f"must be at least {lo:g} and at most {hi:g}, got {value:g}")
        return value

    def boolean(self, value: Any, field_: str) -> bool:
        """true/false, TRUE/FALSE (a workbook's text or boolean cell), yes/no or 1/0."""
        words = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in words:
            return words[value.strip().lower()]
        raise self.fail(field_, f"must be true or false (TRUE/FALSE, 1/0), got {quote(str(value))}")

    def share(self, value: Any, field_: str) -> float:
        """A number in (0, 1]."""
        v = self.number(value, field_)
        if v > 1:
            raise self.fail(field_, f"is a share and must be at most 1, got {v:g}")
        return self.within(v, field_)


# ---------------------------------------------------------------------------------------------
# choices from the inventories


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


#: The tables `gpu_catalog` was made from, and the catalog.
_CATALOG: list = [None, {}]


def gpu_catalog() -> dict[str, tuple[str, str]]:
    """Normalized name -> (slug, display name) for every GPU model of the inventories; made once
    per reading of the tables (every phase asks); treat it as read-only."""
    t = inventory_tables()
    if _CATALOG[0] is not t:
        _CATALOG[:] = [t, {_norm(key): (row["gpu"], row["name"]) for row in t["all_gpus"] for key in (row["gpu"], row["name"])}]
    return _CATALOG[1]


def resolve_gpu(reader: Reader, value: Any, field_: str) -> str:
    """The slug of a GPU model given by slug or display name (case and punctuation ignored), or
    by the start of one name when only one model has it (`H200` -> H200 SXM 141GB)."""
    name = reader.text(value, field_)
    catalog = gpu_catalog()
    if _norm(name) in catalog:
        return catalog[_norm(name)][0]
    names = sorted({v[1] for v in catalog.values()})
    starting = sorted({v for k, v in catalog.items() if _norm(name) and k.startswith(_norm(name))})
    if len(starting) == 1:
        reader.resolved.append(f"{field_}: {quote(name)} read as {starting[0][1]!r}")
        return starting[0][0]
    if starting:
        raise reader.fail(field_, f"{quote(name)} names several GPU models: {', '.join(v[1] for v in starting)}; write one of them")
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise reader.fail(field_, f"unknown GPU model {quote(name)}{hint}; known: {', '.join(names)} (aicompute list gpus)")


def countries() -> list[str]:
    """Codes of the grids with a dataset: ISO 3166 alpha-2 countries, GLO, and the ISO 3166-2
    US states and Canadian provinces (US-TX, CA-QC...)."""
    t = inventory_tables()
    subnational = {row["state"] for row in t["grid_us_states"]} | {row["province"] for row in t["grid_ca_provinces"]}
    return sorted({row["iso2"] for row in t["grid_countries"]} | subnational | {"GLO"})


def dataset_years(code: str) -> list[int]:
    """The years of grid `code` with a dataset of their own in the inventories: a country's
    latest (its `grid_countries` row) and the earlier ones of `grid_country_years`; 2023 for a
    US state (`dates.STATES_YEAR`)."""
    from .dates import STATES_YEAR

    if code.startswith("US-"):
        return [STATES_YEAR]
    t = inventory_tables()
    rows = [r for r in t["grid_countries"] + t.get("grid_country_years", []) if r["iso2"] == code]
    return sorted({r["year"] for r in rows})


def grid_years(code: str) -> list[int]:
    """The years whose generation mix the inventories hold for grid `code`: its datasets'
    (`dataset_years`) and, for the US and its states, every year of
    `inventories/us_states/yearly_generation.csv` (2001-2024; the US's is the sum of its
    states), composed when a campaign uses one; none stated for the Canadian provinces and the
    world mix."""
    from .dates import state_years, us_years

    composed = state_years(code) if code.startswith("US-") else us_years() if code == "US" else {}
    return sorted(set(dataset_years(code)) | set(composed))


def default_grid_year(code: str) -> int | None:
    """The year of grid `code`'s own dataset (its mix when no year is named): a country's
    latest, 2023 for a US state (`dates.STATES_YEAR`)."""
    years = [r["year"] for r in inventory_tables()["grid_countries"] if r["iso2"] == code] or dataset_years(code)
    return max(years) if years else None


def _grid_year(r: Reader, site: Site, value: Any) -> None:
    """`site.grid_year`: a year the inventories hold for the site's grid; the latest year is the
    default mix itself (grid_year left None)."""
    year = r.number(value, "site.grid_year", positive=False)
    years = grid_years(site.country)
    if year != int(year) or int(year) not in years:
        held = ", ".join(map(str, years)) if years else "none (the source states no year)"
        raise r.fail("site.grid_year", f"no generation mix of {year:g} for {site.country}; years available: {held}")
    site.grid_year = None if int(year) == default_grid_year(site.country) else int(year)
    site.year_stated = True


def country_aliases() -> dict[str, str]:
    """Normalized alias -> grid code: ISO 3166 alpha-3 codes and English names of the countries
    (`DEU`, `Germany`), names of the US states and Canadian provinces (`Texas`), `World`."""
    t = inventory_tables()
    out = {"world": "GLO", "global": "GLO", "glo": "GLO"}
    for row in t["grid_countries"]:
        out.update({_norm(row["iso3"]): row["iso2"], _norm(row["country"]): row["iso2"], _norm(row["iso2"]): row["iso2"]})
    for table, key in (("grid_us_states", "state"), ("grid_ca_provinces", "province")):
        for row in t[table]:
            out.update({_norm(row["label"]): row[key], _norm(row[key]): row[key]})
    return out


def resolve_country(reader: Reader, value: str, field_: str) -> str:
    """The grid code of a country given by code, alpha-3 code or name (case ignored)."""
    if value.upper() in countries():
        return value.upper()
    code = country_aliases().get(_norm(value))
    if code is None:
        close = difflib.get_close_matches(value.upper(), countries(), n=3)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise reader.fail(field_, f"unknown country {quote(value)} (ISO 3166 two- or three-letter code or English name, a US state or Canadian province such as US-TX, or GLO){hint}; known: {', '.join(countries())} (aicompute list countries)")
    if _norm(value) != _norm(code):
        reader.resolved.append(f"{field_}: {quote(value)} read as {code}")
    return code


def template_lists() -> dict[str, list[str]]:
    """The choices offered as drop-down lists in the campaign template: grid codes, facility
    profiles, GPU model names."""
    return {"countries": countries(), "profiles": list(profiles()), "gpus": sorted({v[1] for v in gpu_catalog().values()})}


def profiles() -> dict[str, dict]:
    """Facility profiles by name (the `profiles` table of `inventories/datacenter.yaml`)."""
    return {row["profile"]: row for row in inventory_tables()["profiles"]}


# ---------------------------------------------------------------------------------------------
# sections


def default_profile() -> str:
    """The facility profile of a campaign that names none (the row marked `default`)."""
    return next(name for name, row in profiles().items() if row.get("default"))


def _profile_and_country(r: Reader, site_doc: dict) -> tuple[str, str]:
    known_profiles = profiles()
    profile = r.text(site_doc.get("profile", default_profile()), "site.profile")
    alias = next((name for name, row in known_profiles.items() if profile in row.get("aliases", ())), None)
    if alias is not None:
        r.resolved.append(f"site.profile: {quote(profile)} read as {alias!r} (its former name)")
        profile = alias
    if profile not in known_profiles:
        close = difflib.get_close_matches(profile, list(known_profiles), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise r.fail("site.profile", f"unknown profile {quote(profile)}{hint}; known: {', '.join(known_profiles)}")
    country = resolve_country(r, r.text(site_doc.get("country", known_profiles[profile]["default_country"]), "site.country"), "site.country")
    return profile, country


def _grid(r: Reader, site: Site, grid_doc: Any) -> None:
    grid = r.mapping(grid_doc, "site.grid")
    r.known_keys(grid, GRID_KEYS, "site.grid")
    if "kg_co2e_per_kwh" not in grid:
        raise r.fail("site.grid.kg_co2e_per_kwh", "is required when site.grid is given")
    site.grid_kg_co2e_per_kwh = r.number(grid["kg_co2e_per_kwh"], "site.grid.kg_co2e_per_kwh", allow_zero=True)
    if "water_l_per_kwh" in grid:
        site.grid_water_l_per_kwh = r.number(grid["water_l_per_kwh"], "site.grid.water_l_per_kwh", allow_zero=True)
    site.grid_source = r.text(grid.get("source"), "site.grid.source", required=False)


def _grid_scenario(r: Reader, value: Any) -> GridScenario:
    """`site.grid_scenario`: a YAML file of a planned mix (name, year, source, `shares` of
    generation by technology summing to 1 within 0.5 %), relative to the campaign file."""
    f = "site.grid_scenario"
    path = referenced_file(r, r.text(value, f), Path(r.path).parent, f, "grid scenario file")
    try:
        doc = load_yaml(path, "grid scenario file")
    except AicomputeError as exc:
        raise r.fail(f, str(exc)) from None
    doc = r.mapping(doc, f"{f} ({path.name})")
    r.known_keys(doc, ("name", "year", "source", "shares"), f"{f} ({path.name})")
    shares_doc = r.mapping(doc.get("shares"), f"{f} ({path.name}).shares")
    r.known_keys(shares_doc, SCENARIO_TECHNOLOGIES, f"{f} ({path.name}).shares")
    shares = {t: r.share(shares_doc[t], f"{f} ({path.name}).shares.{t}") for t in SCENARIO_TECHNOLOGIES if t in shares_doc}
    if abs(sum(shares.values()) - 1) > 0.005:
        raise r.fail(f"{f} ({path.name}).shares", f"the shares add up to {sum(shares.values()):.4g}, not 1")
    year = r.number(doc.get("year"), f"{f} ({path.name}).year")
    return GridScenario(name=r.text(doc.get("name"), f"{f} ({path.name}).name"), year=int(year), source=r.text(doc.get("source"), f"{f} ({path.name}).source"), shares=shares, path=path)


def _contract(r: Reader, doc: Any) -> Contract:
    """`site.electricity_contract`: type, technology (of the `contract_technologies` table),
    share of the consumption covered (0-1) and source."""
    f = "site.electricity_contract"
    c = r.mapping(doc, f)
    r.known_keys(c, CONTRACT_KEYS, f)
    kind = r.text(c.get("type"), f"{f}.type").lower()
    if kind not in CONTRACT_TYPES:
        raise r.fail(f"{f}.type", f"unknown contract type {quote(kind)}; use one of: {', '.join(CONTRACT_TYPES)}")
    known = [row["technology"] for row in inventory_tables()["contract_technologies"]]
    tech = r.text(c.get("technology"), f"{f}.technology").lower()
    if tech not in known:
        raise r.fail(f"{f}.technology", f"unknown technology {quote(tech)}; use one of: {', '.join(known)}")
    share = r.share(c.get("share", 1.0), f"{f}.share")
    if share <= 0:
        raise r.fail(f"{f}.share", "must be above 0 (the share of the consumption the contract covers)")
    return Contract(type=kind, technology=tech, share=share, source=r.text(c.get("source"), f"{f}.source"))


def parse_site(r: Reader, doc: Any) -> Site:
    """The `site:` section."""
    site_doc = r.mapping(doc, "site")
    r.known_keys(site_doc, SITE_KEYS, "site")
    profile, country = _profile_and_country(r, site_doc)
    site = Site(country=country, profile=profile)
    if "pue" in site_doc:
        pue = r.number(site_doc["pue"], "site.pue", positive=False)
        if pue < 1:
            raise r.fail("site.pue", f"a PUE is at least 1, got {pue:g}")
        site.pue = pue
    if "wue_l_per_kwh" in site_doc:
        site.wue_l_per_kwh = r.number(site_doc["wue_l_per_kwh"], "site.wue_l_per_kwh", allow_zero=True)
        site.wue_basis = r.text(site_doc.get("wue_basis", "consumption"), "site.wue_basis")
        if site.wue_basis not in ("consumption", "withdrawal"):
            raise r.fail("site.wue_basis", "must be 'consumption' or 'withdrawal'")
    elif "wue_basis" in site_doc:
        raise r.fail("site.wue_basis", "is given without site.wue_l_per_kwh")
    if "grid" in site_doc:
        _grid(r, site, site_doc["grid"])
    if "grid_year" in site_doc:
        _grid_year(r, site, site_doc["grid_year"])
    if "grid_scenario" in site_doc:
        if "grid" in site_doc or "grid_year" in site_doc:
            raise r.fail("site.grid_scenario", "give one of site.grid, site.grid_year and site.grid_scenario")
        site.grid_scenario = _grid_scenario(r, site_doc["grid_scenario"])
    if "electricity_contract" in site_doc:
        site.contract = _contract(r, site_doc["electricity_contract"])
    if "monthly_mix" in site_doc:
        site.monthly_mix = _monthly_mix(r, site, site_doc["monthly_mix"])
    elif site.grid_kg_co2e_per_kwh is None and site.grid_scenario is None:
        from .dates import state_months

        site.monthly_mix = state_months(site.country)  # a US state's shipped months (None elsewhere)
    if "hourly_intensity" in site_doc:
        site.hourly_intensity = _hourly_intensity(r, site, site_doc["hourly_intensity"])
    return site


def _hourly_intensity(r: Reader, site: Site, value: Any):
    """`site.hourly_intensity`: a CSV `timestamp,zone,kg_co2e_per_kwh[,l_per_kwh]` (file, or
    `{file, zone}`; the zone defaults to site.country), relative to the campaign file."""
    from .dates import read_hourly

    f = "site.hourly_intensity"
    spec = {"file": value} if isinstance(value, str) else r.mapping(value, f)
    r.known_keys(spec, ("file", "zone"), f)
    if site.grid_kg_co2e_per_kwh is not None:
        raise r.fail(f, "contradicts site.grid: give the grid's intensity once")
    path = referenced_file(r, r.text(spec.get("file"), f"{f}.file"), Path(r.path).parent, f"{f}.file", "hourly intensity file")
    zone = r.text(spec.get("zone", site.country), f"{f}.zone")
    try:
        return read_hourly(path, zone)
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise r.fail(f"{f}.file", f"{path.name}: {exc}") from None


def apply_hourly(r: Reader, site: Site, phases: list[Phase]) -> None:
    """Each phase with a telemetry log gets the energy-weighted intensity of the site's hourly
    series over the log's hours (`campaign.dates.weighted`); a log the series does not cover is
    refused."""
    from .dates import weighted

    if site.hourly_intensity is None:
        return
    for i, p in enumerate(phases, start=1):
        if not p.hourly_kwh:
            continue
        p.hourly = weighted(site.hourly_intensity, p.hourly_kwh)
        if p.hourly is None:
            first, last = min(p.hourly_kwh), max(p.hourly_kwh)
            s = site.hourly_intensity.kg
            raise r.fail(f"phases[{i}] ({p.name}).telemetry", f"its log's hours ({first:%Y-%m-%d %H}:00 to {last:%Y-%m-%d %H}:00 UTC) are not in {site.hourly_intensity.path.name} (zone {site.hourly_intensity.zone}: {min(s):%Y-%m-%d %H}:00 to {max(s):%Y-%m-%d %H}:00)")


def _monthly_mix(r: Reader, site: Site, value: Any):
    """`site.monthly_mix`: Ember's monthly electricity data (CSV, long format; a country) or a
    CSV of `month` and the technologies (any site, states and provinces included), relative to
    the campaign file; the site's months. Without it, a US state site takes its shipped months
    (`dates.state_months`)."""
    from .dates import read_monthly_mix

    f = "site.monthly_mix"
    if site.grid_scenario is not None or site.grid_kg_co2e_per_kwh is not None:
        raise r.fail(f, "contradicts site.grid and site.grid_scenario: give one way to the grid's mix")
    iso3 = next((row["iso3"] for row in inventory_tables()["grid_countries"] if row["iso2"] == site.country), None)
    if iso3 is None and site.country == "GLO":
        raise r.fail(f, "monthly mixes are read for a country, a US state or a Canadian province, not the world mix")
    path = referenced_file(r, r.text(value, f), Path(r.path).parent, f, "monthly mix file")
    try:
        return read_monthly_mix(path, iso3)
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise r.fail(f, f"{path.name}: {exc}") from None


def _override(r: Reader, doc: Any, field_: str) -> Override:
    o = r.mapping(doc, field_)
    r.known_keys(o, OVERRIDE_KEYS, field_)
    if "kg_co2e" not in o:
        raise r.fail(f"{field_}.kg_co2e", "is required")
    return Override(
        kg_co2e=r.number(o["kg_co2e"], f"{field_}.kg_co2e", allow_zero=True),
        water_m3=r.number(o["water_m3"], f"{field_}.water_m3", allow_zero=True) if o.get("water_m3") is not None else None,
        kg_sb_eq=r.number(o["kg_sb_eq"], f"{field_}.kg_sb_eq", allow_zero=True) if o.get("kg_sb_eq") is not None else None,
        source=r.text(o.get("source"), f"{field_}.source", required=False),
    )


def parse_hardware(r: Reader, doc: Any, defaults: dict) -> Hardware:
    """The `hardware:` section (the GPU model may come from `defaults:`)."""
    hw_doc = r.mapping(doc or {}, "hardware")
    r.known_keys(hw_doc, HARDWARE_KEYS, "hardware")
    if "gpu" not in hw_doc and "gpu" not in defaults:
        raise r.fail("hardware.gpu", "is required (the GPU model, e.g. 'H100 SXM 80GB')")
    hw = Hardware(gpu=resolve_gpu(r, hw_doc.get("gpu", defaults.get("gpu")), "hardware.gpu"))
    for key in ("gpu_embodied", "server_embodied"):
        if key in hw_doc:
            setattr(hw, key, _override(r, hw_doc[key], f"hardware.{key}"))
    for key, zero_ok in (("gpus_per_node", False), ("lifetime_years", False), ("switches_per_gpu", True), ("storage_tb_per_gpu", True)):
        if key in hw_doc:
            setattr(hw, key, r.number(hw_doc[key], f"hardware.{key}", allow_zero=zero_ok))
    if "utilisation" in hw_doc:
        hw.utilisation = r.share(hw_doc["utilisation"], "hardware.utilisation")
    if "datacenter_infrastructure" in hw_doc:
        hw.datacenter_infrastructure = r.boolean(hw_doc["datacenter_infrastructure"], "hardware.datacenter_infrastructure")
    return hw


def referenced_file(r: Reader, name: str, base: Path, field_: str, what: str) -> Path:
    """A file a campaign file names (`serves`, a `telemetry` log, a `request_log`): relative to
    the campaign file's folder unless absolute; refused unless it is a readable regular file (a
    folder, a device, a pipe or a socket would be read forever or not at all)."""
    import os
    import stat

    path = Path(name) if Path(name).is_absolute() else base / name
    shown = quote(str(path))[1:-1][:300]
    try:
        mode = path.stat().st_mode  # follows links: what is read is what is checked
    except (OSError, ValueError):  # missing, a name too long for the file system, a NUL byte
        raise r.fail(field_, f"{shown}: {what} not found") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
        raise r.fail(field_, f"{shown}: is {kind}; name the {what}")
    if not os.access(path, os.R_OK):
        raise r.fail(field_, f"{shown}: {what} cannot be read (permission denied)")
    r.files.append(path)
    return path


def _read_telemetry(r: Reader, spec: Any, field_: str, base: Path):
    """(TelemetrySummary, description) of a telemetry spec (`file`, `start`, `end`,
    `gap_seconds`, or just the file); a log without energy or duration in its window is refused."""
    from ..telemetry import read_log

    if isinstance(spec, str):
        spec = {"file": spec}
    spec = r.mapping(spec, field_)
    r.known_keys(spec, TELEMETRY_KEYS, field_)
    name = r.text(spec.get("file"), f"{field_}.file")
    log = referenced_file(r, name, base, f"{field_}.file", "telemetry file")
    gap = r.number(spec.get("gap_seconds", 5.0), f"{field_}.gap_seconds")
    start = str(spec["start"]) if spec.get("start") is not None else None
    end = str(spec["end"]) if spec.get("end") is not None else None
    try:
        summary = read_log(log, start=start, end=end, gap_seconds=gap)
    except AicomputeError as exc:
        raise r.fail(f"{field_}.file", str(exc)) from None
    if summary.energy_kwh <= 0 or summary.gpu_hours <= 0:
        raise r.fail(f"{field_}.file", f"{log}: no energy or duration in the selected window")
    window = (f" from {start}" if start else "") + (f" to {end}" if end else "")
    return summary, f"telemetry {log.name}{window}: {summary.energy_kwh:.6g} kWh GPU energy, {len(summary.gpus)} GPU(s) x {summary.duration_s:.0f} s"


RELATIVE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*%\s*of\s+(.+?)\s*$", re.IGNORECASE)


def _relative(r: Reader, p: dict, f: str) -> tuple[float, str] | None:
    """(share, phase name or 'all') of `gpu_hours: 20% of final training` (or `of all`)."""
    value = p.get("gpu_hours")
    m = RELATIVE.match(value) if isinstance(value, str) else None
    if m is None:
        return None
    share = float(m.group(1)) / 100
    if not 0 < share <= 10:
        raise r.fail(f"{f}.gpu_hours", f"a share of another phase's GPU time is above 0 % and at most 1000 %, got {m.group(1)} %")
    return share, m.group(2)


def resolve_relative(r: Reader, phases: list[Phase]) -> None:
    """Give the phases whose GPU time is a share of another's (or of all the phases given in
    absolute terms) their GPU-hours and node-hours, in dependency order; refuse unknown phases
    and cycles."""
    by_name = {p.name: p for p in phases}
    deps = {}
    for i, p in enumerate(phases, start=1):
        if p.relative:
            target = p.relative[1]
            if target != "all" and target not in by_name:
                raise r.fail(f"phases[{i}] ({p.name}).gpu_hours", f"names no phase {quote(target)}; use a phase name of this file or 'all'")
            deps[p.name] = {q.name for q in phases if not q.relative} if target == "all" else {target}
    try:
        order = list(graphlib.TopologicalSorter(deps).static_order())
    except graphlib.CycleError as exc:
        raise r.fail("phases", f"GPU time given as shares of each other in a circle: {' -> '.join(exc.args[1])}") from None
    for name in order:
        p = by_name[name]
        if p.relative:
            refs = [by_name[n] for n in deps[name]]
            p.gpu_hours = p.relative[0] * sum(q.gpu_hours for q in refs)
            p.node_hours = p.relative[0] * sum(q.node_hours for q in refs)
            if not p.gpu_hours <= RANGES["gpu_hours"][1]:  # a chain of shares grows past the bound
                i = phases.index(p) + 1
                raise r.fail(f"phases[{i}] ({p.name}).gpu_hours", f"comes to {p.gpu_hours:.3g} GPU-hours; a phase has at most {RANGES['gpu_hours'][1]:,.0f} GPU-hours (the bound of gpu_hours)")


def _gpu_time(r: Reader, p: dict, f: str, base: Path) -> tuple[float, float, float | None, str, dict]:
    """(GPU-hours, node-hours, measured GPU kWh, energy source, GPU kWh by UTC hour of a
    telemetry log) of one phase (zeros for a share of another phase's GPU time: see
    `resolve_relative`)."""
    given = [k for k in ("telemetry", "gpu_hours", "nodes", "gpus") if k in p]
    if "telemetry" in p and "energy" in p:
        raise r.fail(f"{f}.energy", f"contradicts {f}.telemetry: the log gives the measured energy")
    if len(given) > 1:
        raise r.fail(f"{f}.{given[1]}", f"contradicts {f}.{given[0]}: give GPU time once, as gpu_hours, or nodes x hours, or gpus x hours")
    source = p.get("energy_source") or ""
    if "telemetry" in p:
        if "hours" in p:
            raise r.fail(f"{f}.hours", "contradicts telemetry (the log gives the duration)")
        summary, log_source = _read_telemetry(r, p["telemetry"], f"{f}.telemetry", base)
        return summary.gpu_hours, 0.0, summary.energy_kwh, source or log_source, summary.hourly_kwh
    if "gpu_hours" in p:
        if "hours" in p:
            raise r.fail(f"{f}.hours", "contradicts gpu_hours (hours goes with nodes or gpus)")
        if _relative(r, p, f):
            return 0.0, 0.0, None, source, {}
        return r.number(p["gpu_hours"], f"{f}.gpu_hours", GPU_TIME_UNITS), 0.0, None, source, {}
    if given:
        count = r.number(p[given[0]], f"{f}.{given[0]}")
        if "hours" not in p:
            raise r.fail(f"{f}.hours", f"is required with {given[0]} (wall-clock hours)")
        hours = r.number(p["hours"], f"{f}.hours", TIME_UNITS)
        # node-hours are multiplied by the GPUs per node when written
        return (count * hours, 0.0, None, source, {}) if given[0] == "gpus" else (0.0, count * hours, None, source, {})
    if "hours" in p:
        raise r.fail(f"{f}.hours", "needs nodes or gpus")
    return 0.0, 0.0, None, source, {}


def parse_phase(r: Reader, p: Any, i: int, defaults: dict, hw: Hardware, base: Path) -> Phase:
    """Phase number `i` (1-based) of the `phases:` list."""
    f = f"phases[{i}]"
    p = r.mapping(p, f)
    r.known_keys(p, PHASE_KEYS, f)
    name = r.text(p.get("name"), f"{f}.name")
    if len(name) > MAX_NAME:
        raise r.fail(f"{f}.name", f"has more than {MAX_NAME} characters")
    f = f"phases[{i}] ({name})"
    kind = r.text(p.get("kind", defaults.get("kind")), f"{f}.kind")
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise r.fail(f"{f}.kind", f"unknown kind {quote(kind)}{hint}; use one of: {', '.join(KINDS)}")
    gpu = resolve_gpu(r, p["gpu"], f"{f}.gpu") if "gpu" in p else hw.gpu
    gpu_hours, node_hours, measured, source, hourly_kwh = _gpu_time(r, p, f, base)
    energy = r.number(p["energy"], f"{f}.energy", ENERGY_UNITS) if "energy" in p else None
    extra = r.number(p["extra_energy"], f"{f}.extra_energy", ENERGY_UNITS) if "extra_energy" in p else 0.0
    relative = _relative(r, p, f)
    if gpu_hours == 0 and node_hours == 0 and energy is None and extra == 0 and not measured and not relative:
        raise r.fail(f, "has no compute: give gpu_hours, nodes x hours, gpus x hours, energy or extra_energy")
    span = _phase_span(r, p, f)
    _gpu_time_bounds(r, p, f, gpu, hw, span)
    months = _phase_months(span)
    lf = p.get("load_factor", defaults.get("load_factor"))
    overhead = p.get("node_overhead_w_per_gpu", defaults.get("node_overhead_w_per_gpu"))
    share = p.get("node_overhead_share", defaults.get("node_overhead_share"))
    return Phase(
        name=name,
        kind=kind,
        gpu=gpu,
        gpu_hours=gpu_hours,
        energy_kwh=energy,
        extra_energy_kwh=extra,
        load_factor=r.share(lf, f"{f}.load_factor") if lf is not None else None,
        node_overhead_w_per_gpu=r.number(overhead, f"{f}.node_overhead_w_per_gpu", allow_zero=True) if overhead is not None else None,
        node_overhead_share=r.number(share, f"{f}.node_overhead_share", allow_zero=True) if share is not None else None,
        description=r.text(p.get("description"), f"{f}.description", required=False),
        energy_source=r.text(source, f"{f}.energy_source", required=False),
        node_hours=node_hours,
        measured_gpu_kwh=measured,
        relative=relative,
        months=months,
        hourly_kwh=hourly_kwh,
    )


def _day_text(value: Any) -> str | None:
    """A date or time read by YAML or from a workbook cell as text (a time at midnight without a
    UTC offset is its day: `2024-01-20`; a time with an offset keeps it, for `parse_when` to
    convert to UTC), None for anything else."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) and value.tzinfo is None else value.isoformat()
    return value.isoformat() if isinstance(value, dt.date) else None


def _phase_span(r: Reader, p: dict, f: str) -> tuple[Any, Any] | None:
    """(start, end) of a dated phase (`start` and `end`: YYYY-MM-DD or YYYY-MM, both included,
    or a time, UTC unless it has an offset), naive UTC with the end exclusive; None for an
    undated phase. Refused before anything is built on them: outside the years 1990-2100, an
    end not after the start, more than 600 months (`campaign.dates.phase_span`)."""
    from .dates import PhaseDateError, phase_span

    if "start" not in p and "end" not in p:
        return None
    for key in ("start", "end"):
        if key not in p:
            raise r.fail(f"{f}.{key}", "is required when the phase has " + ("an end" if key == "start" else "a start"))
    text = {k: _day_text(p[k]) or r.text(p[k], f"{f}.{k}") for k in ("start", "end")}
    try:
        return phase_span(text["start"], text["end"])
    except PhaseDateError as exc:
        raise r.fail(f"{f}.{exc.key}", str(exc)) from None


def _phase_months(span: tuple[Any, Any] | None) -> dict[str, float]:
    """The share of a dated phase's hours in each month (`span`: `_phase_span`); {} for an
    undated phase."""
    from .dates import month_shares

    return month_shares(*span) if span else {}


def _gpu_time_bounds(r: Reader, p: dict, f: str, gpu: str, hw: Hardware, span: tuple[Any, Any] | None) -> None:
    """Refuse `gpus` (or `nodes` x the GPUs per node, as the phase is written) x `hours` above
    the bound of a phase's GPU-hours (`gpu_hours` in `RANGES`), and `hours` more than a dated
    phase's span: each GPU runs `hours` between its start and end. (`gpu_hours` alone gives no
    GPU count: it is held to its own bound only.)"""
    from ..inventory.templates import parameter

    counted = next((k for k in ("gpus", "nodes") if k in p), None)
    if counted is None or "hours" not in p or "telemetry" in p or "gpu_hours" in p:
        return
    per_node = 1.0
    if counted == "nodes":
        per_node = hw.gpus_per_node if hw.gpus_per_node is not None else float(parameter(f"{gpu}_gpus_per_node")["amount"])
    hours = r.number(p["hours"], f"{f}.hours", TIME_UNITS)
    gpus = r.number(p[counted], f"{f}.{counted}") * per_node
    product = f"{counted} x hours" + (f" x {per_node:g} GPUs per node" if counted == "nodes" else "")
    most = RANGES["gpu_hours"][1]
    if gpus * hours > most:
        raise r.fail(f"{f}.hours", f"{product} is {gpus * hours:,.4g} GPU-hours; a phase has at most {most:,.0f} GPU-hours (the bound of gpu_hours)")
    if span is not None:
        fit = (span[1] - span[0]).total_seconds() / 3600
        if hours > fit * (1 + 1e-9):
            raise r.fail(f"{f}.hours", f"{hours:,.6g} h do not fit in the phase's dates: each of its {gpus:,.6g} GPUs would run {hours:,.6g} h in the {fit:,.6g} h from {span[0]:%Y-%m-%d %H:%M} to {span[1]:%Y-%m-%d %H:%M} UTC; at most {fit:,.6g} h fit ({gpus * fit:,.6g} GPU-hours)")


#: The modelled way to each functional unit: the fields it needs.
MODELLED_UNITS = {
    "request": ("tokens_per_second_per_gpu", "tokens_per_request"),
    "1000 tokens": ("tokens_per_second_per_gpu",),
    "hour of audio": ("audio_hours_per_gpu_hour",),
    "image": ("images_per_gpu_hour",),
}


def _modelled(r: Reader, d: dict, unit: str, gpu_hours: float) -> float:
    """Units of `unit` served, modelled from the throughput fields over `gpu_hours` of serving."""
    f = "deployment"
    if unit in ("request", "1000 tokens"):
        tokens = r.number(d["tokens_per_second_per_gpu"], f"{f}.tokens_per_second_per_gpu") * gpu_hours * 3600
        return tokens / (r.number(d["tokens_per_request"], f"{f}.tokens_per_request") if unit == "request" else 1000.0)
    key = MODELLED_UNITS[unit][0]
    return r.number(d[key], f"{f}.{key}") * gpu_hours


def _units_served(r: Reader, d: dict, unit: str, gpus: float, hours: float) -> tuple[dict[str, float], str]:
    """(functional unit -> units served, how): measured totals first, then what the modelled
    throughput gives (over gpus x hours x utilisation); `unit` must be among them."""
    f = "deployment"
    served, how = {}, []
    for u, (key, per) in MEASURED_UNITS.items():
        if key in d:
            served[u] = r.number(d[key], f"{f}.{key}") / per
            how.append(f"{key} measured")
    if "tokens" in d and "tokens_per_request" in d and "request" not in served:
        served["request"] = served["1000 tokens"] * 1000 / r.number(d["tokens_per_request"], f"{f}.tokens_per_request")
        how.append(f"requests = tokens / {d['tokens_per_request']} tokens per request")
    share = r.share(d.get("utilisation", 1.0), f"{f}.utilisation")
    modelled = [u for u, keys in MODELLED_UNITS.items() if u not in served and all(k in d for k in keys)]
    for u in modelled:
        served[u] = _modelled(r, d, u, gpus * hours * share)
    if modelled:
        given = dict.fromkeys(k for u in modelled for k in MODELLED_UNITS[u])
        batch = f" at batch size {r.number(d['batch_size'], f'{f}.batch_size'):g}" if "batch_size" in d else ""
        how.append(f"modelled over {gpus:g} GPUs x {hours:,.0f} h x utilisation {share:g}{batch}: " + ", ".join(f"{k} {d[k]}" for k in given))
    if unit not in served:
        missing = next((k for k in MODELLED_UNITS[unit] if k not in d), MODELLED_UNITS[unit][0]) if any(k in d for k in MODELLED_UNITS[unit]) else MEASURED_UNITS[unit][0]
        needs = " and ".join(MODELLED_UNITS[unit])
        raise r.fail(f"{f}.{missing}", f"is required for the functional unit {unit!r}: give the measured `{MEASURED_UNITS[unit][0]}`, or the modelled {needs}, with throughput_source")
    return served, "; ".join(how) + f" ({r.text(d.get('throughput_source'), f'{f}.throughput_source')})"


def _amortise(r: Reader, value: Any, unit: str, served: dict[str, float]) -> tuple[float, str]:
    """`amortise_over`: a number of `unit`, or a number and a unit (`1e9 requests`, `5e12 tokens`)."""
    f = "deployment.amortise_over"
    if not isinstance(value, str):
        return r.number(value, f), unit
    number, _, word = value.strip().partition(" ")
    if not word.strip():  # `1e9`, which YAML reads as text
        return r.number(number, f), unit
    if word.strip() not in UNIT_WORDS:
        raise r.fail(f, f"{quote(value)} is not a number followed by a unit ({', '.join(UNIT_WORDS)})")
    given, factor = UNIT_WORDS[word.strip()]
    if given not in served:
        raise r.fail(f, f"is given in {UNIT_PLURALS[given]}, which the deployment does not serve (it declares {', '.join(served)})")
    return r.number(number, f) * factor, given


def _log_column(r: Reader, path: Path, df, column: str, parse) -> Any:
    """A column of a request log parsed by `parse` (NaN or NaT where a cell does not parse);
    the first cell that does not parse is refused with its line (the header is line 1)."""
    values = parse(df[column])
    bad = values.isna()
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise r.fail("deployment.request_log", f"{path}, line {line}: {column} {quote(df[column].iloc[line - 2][:60])} is not {'an ISO 8601 time' if column == 'timestamp' else 'a number of tokens (0 or more)'}")
    return values


def _request_log(r: Reader, name: str, base: Path, window: tuple, idle_gap: float) -> tuple[int, float, float]:
    """(requests, tokens, idle seconds) of a request log (CSV: `timestamp`, optional `tokens`)
    within the power log's window; idle: the stretches longer than `idle_gap` s without a
    request, window edges included."""
    import numpy as np
    import pandas as pd

    f = "deployment.request_log"
    path = referenced_file(r, name, base, f, "request log")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise r.fail(f, f"{path}: not a CSV request log ({quote(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[1:-1][:200]})") from None
    if "timestamp" not in df:
        raise r.fail(f, f"{path}: no `timestamp` column (a request log has `timestamp` and optionally `tokens`)")
    times = _log_column(r, path, df, "timestamp", lambda c: pd.to_datetime(c, format="ISO8601", utc=True, errors="coerce"))
    start, end = (pd.Timestamp(t).tz_localize("UTC") if pd.Timestamp(t).tzinfo is None else pd.Timestamp(t).tz_convert("UTC") for t in window)
    inside = (times >= start) & (times <= end)
    t = pd.concat([pd.Series([start]), times[inside].sort_values(), pd.Series([end])]).to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9
    gaps = t[1:] - t[:-1]
    tokens = 0.0
    if "tokens" in df:
        counts = _log_column(r, path, df, "tokens", lambda c: pd.to_numeric(c, errors="coerce").where(lambda v: np.isfinite(v) & (v >= 0)))
        tokens = float(counts[inside].sum())
    return int(inside.sum()), tokens, float(gaps[gaps > idle_gap].sum())


def _measured_serving(r: Reader, d: dict, base: Path) -> tuple[float, float, dict[str, float], str]:
    """(GPU kWh, GPU-hours, units served by functional unit, how) of a deployment with a power
    log and a request log."""
    log, source = _read_telemetry(r, d["telemetry"], "deployment.telemetry", base)
    if "request_log" not in d:
        raise r.fail("deployment.request_log", "is required with deployment.telemetry")
    window = (min(g.start for g in log.gpus), max(g.end for g in log.gpus))
    idle_gap = r.number(d.get("idle_gap_seconds", 60), "deployment.idle_gap_seconds")
    requests, tokens, idle = _request_log(r, r.text(d["request_log"], "deployment.request_log"), base, window, idle_gap)
    if requests <= 0:
        raise r.fail("deployment.request_log", "no request in the power log's window")
    served = {"request": float(requests), **({"1000 tokens": tokens / 1000.0} if tokens else {})}
    below = log.energy_kwh - sum(s["energy_kwh"] for s in log.segments)
    how = (f"measured: {source}; {requests:,} requests{f', {tokens:,.0f} tokens' if tokens else ''} in {Path(str(d['request_log'])).name}; idle between requests "
           f"(gaps over {idle_gap:g} s) {idle / 3600:.3g} h of {log.duration_s / 3600:.3g} h; {below:.4g} kWh below the active power threshold")
    return log.energy_kwh, log.gpu_hours, served, how


def _serving_gpus(r: Reader, d: dict, gpu: str, hw: Hardware) -> float:
    """The deployment's GPUs: `gpus`, or `nodes` x the GPUs per node (`hardware.gpus_per_node`,
    or the inventories' `<gpu>_gpus_per_node`)."""
    from ..inventory.templates import parameter

    f = "deployment"
    if ("gpus" in d) == ("nodes" in d):
        raise r.fail(f"{f}.gpus", "give the GPUs (`gpus`) or the nodes (`nodes`), one of them")
    if "gpus" in d:
        return r.number(d["gpus"], f"{f}.gpus")
    per_node = hw.gpus_per_node if hw.gpus_per_node is not None and gpu == hw.gpu else float(parameter(f"{gpu}_gpus_per_node")["amount"])
    return r.number(d["nodes"], f"{f}.nodes") * per_node


def parse_deployment(r: Reader, doc: Any, hw: Hardware, base: Path = Path(".")) -> Deployment:
    """The `deployment:` section: serving the model (see `schema.Deployment`)."""
    f = "deployment"
    d = r.mapping(doc, f)
    r.known_keys(d, DEPLOYMENT_KEYS, f)
    unit = r.text(d.get("unit", "request"), f"{f}.unit")
    if unit not in UNITS:
        raise r.fail(f"{f}.unit", f"unknown functional unit {quote(unit)}; use one of: {', '.join(UNITS)}")
    gpu = resolve_gpu(r, d["gpu"], f"{f}.gpu") if "gpu" in d else hw.gpu
    measured = None
    if "telemetry" in d:  # GPU energy and time from the power log, units from the request log
        if unit not in ("request", "1000 tokens"):
            raise r.fail(f"{f}.unit", f"a request log gives requests and tokens, not {UNIT_PLURALS[unit]}")
        measured, gpu_hours, served, how = _measured_serving(r, d, base)
        gpus, hours = 1.0, gpu_hours
        if unit not in served:
            raise r.fail(f"{f}.request_log", "has no `tokens` column, so it gives no tokens")
    else:
        gpus, hours = _serving_gpus(r, d, gpu, hw), r.number(d.get("duration"), f"{f}.duration", TIME_UNITS)
        served, how = _units_served(r, d, unit, gpus, hours)
    energy = r.number(d["energy"], f"{f}.energy", ENERGY_UNITS) if "energy" in d else None
    if energy is not None and measured is not None:
        raise r.fail(f"{f}.energy", "is given with deployment.telemetry; give one of them")
    return Deployment(
        name=r.text(d.get("name", "serving"), f"{f}.name"), gpu=gpu, gpus=gpus, hours=hours, unit=unit, served=served, throughput=how,
        load_factor=r.share(d["load_factor"], f"{f}.load_factor") if "load_factor" in d else None,
        amortise=_amortise(r, d["amortise_over"], unit, served) if "amortise_over" in d else None,
        measured_gpu_kwh=measured, energy_kwh=energy, energy_source=r.text(d.get("energy_source"), f"{f}.energy_source", required=energy is not None),
    )


#: A count of `model:` as text: a number, a multiplier (`COUNT_MULTIPLIERS`) and a word.
_COUNT = re.compile(r"\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([kMBT])?\s*([A-Za-z]+)?\s*")
_COUNT_EXAMPLES = {"parameters": "7B, 176B parameters", "training_tokens": "2.1T tokens", "training_flops": "6.3e23 FLOP, 5 PFLOP"}


def _count(r: Reader, value: Any, field_: str) -> float:
    """A count of `model:` (`field_` ends in parameters, training_tokens or training_flops): a
    number, or a text number with an optional multiplier (k, M, B, T: 1e3 to 1e12) and the
    field's word (`COUNT_WORDS`: `7B`, `176B parameters`, `2.1T tokens`, `6.3e23 FLOP`,
    `5 PFLOP`); finite, positive and within `RANGES` (parameters 1e3 to 1e14, tokens 1e3 to
    1e16, FLOP 1e9 to 1e30)."""
    key = field_.rsplit(".", 1)[-1]
    words = COUNT_WORDS[key]
    if isinstance(value, str):
        m = _COUNT.fullmatch(value)
        if m is None or (m.group(3) is not None and m.group(3) not in words):
            raise r.fail(field_, f"{quote(value)} is not a count: a number, optionally followed by {', '.join(COUNT_MULTIPLIERS)} (1e3 to 1e12) and {' or '.join(words)} (e.g. {_COUNT_EXAMPLES[key]})")
        number, multiplier, word = m.groups()
        try:
            value = float(number) * COUNT_MULTIPLIERS.get(multiplier or "", 1.0) * words.get(word or "", 1.0)
        except ValueError:
            raise r.fail(field_, f"{quote(value)} is not a count (e.g. {_COUNT_EXAMPLES[key]})") from None
    return r.number(value, field_)


def parse_model(r: Reader, doc: Any) -> ModelSize | None:
    """The `model:` section, the trained model's size (`schema.ModelSize`): the reference flows
    of the SCI for AI's provider functional units (`--per parameter`, `--per "training token"`,
    `--per PFLOP`; Green Software Foundation, SCI for AI, SPEC.md 8.2). Without
    `training_flops`, the estimate 6 x parameters x training tokens when both are given
    (Kaplan et al. 2020; Hoffmann et al. 2022). None for an empty section (a blank sheet)."""
    f = "model"
    d = r.mapping({} if doc is None else doc, f)
    r.known_keys(d, MODEL_KEYS, f)
    counts = {k: _count(r, d[k], f"{f}.{k}") for k in ("parameters", "training_tokens", "training_flops") if d.get(k) is not None}
    source = r.text(d.get("source"), f"{f}.source", required=False)
    if not counts:
        if source:
            raise r.fail(f, "gives a source but no count: give parameters, training_tokens or training_flops")
        return None
    m = ModelSize(**counts, source=source)
    if m.training_flops is None and m.parameters is not None and m.training_tokens is not None:
        m.training_flops, m.flops_estimated = 6.0 * m.parameters * m.training_tokens, True
    return m


def parse_serving(doc: dict, path: Path | str) -> Campaign:
    """A serving file: `serves` (the training campaign file, relative to this one), `deployment`,
    and optionally `campaign` (name, description), the `site` and `hardware` of the serving
    when they differ from the training's, and `model` (replaces the training file's). Returns
    the training campaign with the deployment,
    named `<training>, <deployment>` unless the file names it."""
    from dataclasses import replace

    r = Reader(path)
    r.known_keys(doc, SERVING_KEYS, "")
    if "deployment" not in doc:
        raise r.fail("deployment", "is required in a serving file (one that names the campaign it `serves`)")
    target = referenced_file(r, r.text(doc["serves"], "serves"), Path(path).parent, "serves", "training campaign file")
    try:
        training = read_campaign(target, serving=False)
    except AicomputeError as exc:  # named from the serving file: the user runs that one
        raise r.fail("serves", f"the training campaign file does not read: {exc}") from None
    if training.deployment is not None:
        raise r.fail("serves", f"{target} has a deployment of its own; name a training campaign file without one")
    site = parse_site(r, doc["site"]) if "site" in doc else None
    hw = parse_hardware(r, doc["hardware"], {"gpu": training.hardware.gpu}) if "hardware" in doc else None
    deployment = parse_deployment(r, doc["deployment"], hw or training.hardware, Path(path).parent)
    deployment.site, deployment.hardware = site, hw
    meta = r.mapping(doc.get("campaign") or {}, "campaign")
    r.known_keys(meta, ("name", "description"), "campaign")
    name = r.text(meta.get("name", f"{training.name}, {deployment.name}"), "campaign.name")
    if len(name) > MAX_NAME:
        raise r.fail("campaign.name", f"has more than {MAX_NAME} characters; name the serving file's campaign")
    description = r.text(meta.get("description"), "campaign.description", required=False) or training.description
    inputs = {**doc, "serves": str(target.resolve()), "training": training.inputs}  # `training`: for display, not read back
    model = parse_model(r, doc["model"]) if "model" in doc else None  # the serving file's `model:` replaces the training file's
    return replace(training, model=model or training.model, name=name, description=description, path=Path(path), inputs=inputs, resolved=training.resolved + r.resolved, deployment=deployment, files=r.files + training.files)


#: The months of all dated phases of a campaign, summed: each phase-month is written as a dataset
#: (about 5 ms and 40 kB each), so 12,000 take about a minute.
MAX_CAMPAIGN_MONTHS = 12_000


def parse_campaign(doc: Any, path: Path | str, cells: dict | None = None) -> Campaign:
    """Validate a campaign document (as read from YAML or Excel) and return a `Campaign`.

    Parameters
    ----------
    doc : Any
        The parsed document.
    path : Path or str
        The file it came from (named in messages; telemetry logs are relative to its folder).
    cells : dict, optional
        For a workbook: field -> (sheet, row, column), so that messages name the cell.
    """
    r = Reader(path)
    r.cells = cells or {}
    doc = r.mapping(doc, "(top level)")
    r.known_keys(doc, CAMPAIGN_KEYS, "")
    for key in ("campaign", "site", "phases"):
        if key not in doc:
            raise r.fail(key, "is required")
    meta = r.mapping(doc["campaign"], "campaign")
    r.known_keys(meta, ("name", "description"), "campaign")
    name = r.text(meta.get("name"), "campaign.name")
    if len(name) > MAX_NAME or not any(ch.isalnum() for ch in name):
        raise r.fail("campaign.name", f"must have letters or digits and at most {MAX_NAME} characters")
    description = r.text(meta.get("description"), "campaign.description", required=False)
    site = parse_site(r, doc["site"])
    defaults = r.mapping(doc.get("defaults") or {}, "defaults")
    r.known_keys(defaults, DEFAULT_KEYS, "defaults")
    hw = parse_hardware(r, doc.get("hardware"), defaults)
    if not isinstance(doc["phases"], list) or not doc["phases"]:
        raise r.fail("phases", "must be a non-empty list of phases")
    if len(doc["phases"]) > MAX_PHASES:
        raise r.fail("phases", f"has {len(doc['phases'])} phases; a campaign has at most {MAX_PHASES}")
    phases: list[Phase] = []
    months, names = 0, set()
    for i, p in enumerate(doc["phases"], start=1):
        phase = parse_phase(r, p, i, defaults, hw, Path(path).parent)
        if phase.name in names:
            raise r.fail(f"phases[{i}] ({phase.name}).name", "is used by another phase")
        names.add(phase.name)
        months += len(phase.months)
        if months > MAX_CAMPAIGN_MONTHS:
            raise r.fail(f"phases[{i}] ({phase.name}).end", f"the dated phases up to this one span {months:,} months in all; a campaign's dated phases span at most {MAX_CAMPAIGN_MONTHS:,} months (a phase-month is a dataset)")
        phases.append(phase)
    resolve_relative(r, phases)
    apply_hourly(r, site, phases)
    deployment = parse_deployment(r, doc["deployment"], hw, Path(path).parent) if "deployment" in doc else None
    return Campaign(name=name, description=description, site=site, hardware=hw, phases=phases, path=Path(path), inputs=doc, resolved=r.resolved, deployment=deployment, files=r.files, model=parse_model(r, doc["model"]) if "model" in doc else None)


def read_campaign(path: str | Path, serving: bool = True) -> Campaign:
    """Read and validate a campaign file, or a serving file (`serves:` names the campaign file
    whose model it serves, see `parse_serving`).

    Parameters
    ----------
    path : str or Path
        A YAML file (`.yaml`, `.yml`) or an Excel workbook (`.xlsx`, `.xlsm`) in the layout of
        `aicompute template`; see `examples/`.
    serving : bool
        Accept a serving file (False: the file must be a training campaign).

    Returns
    -------
    Campaign
        The validated campaign; nothing has been written anywhere.

    Raises
    ------
    AicomputeError
        With one message naming the file and the field (an `InputError` for a field's value).
    """
    path = Path(path)
    if not path.is_file():
        raise AicomputeError(f"{path}: campaign file not found")
    cells: dict = {}
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        doc = read_campaign_workbook(path, cells)
    elif path.suffix.lower() in (".yaml", ".yml"):
        doc = load_yaml(path)
    else:
        raise AicomputeError(f"{path}: unknown file type; use .yaml, .yml or .xlsx")
    if isinstance(doc, dict) and "serves" in doc:
        if not serving:
            raise Reader(path).fail("serves", "this is a serving file; a serving file names a training campaign file, not another serving file")
        return parse_serving(doc, path)
    return parse_campaign(doc, path, cells)
