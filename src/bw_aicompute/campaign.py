"""Training campaigns as functional units.

A campaign file (YAML, or the same content in an Excel workbook; see `examples/` and
`templates/campaign_template.xlsx`) describes the compute of a research effort: where it runs,
on which hardware, and its phases (pretraining, fine-tuning, ablations, failed runs, debugging,
evaluation, idle reservations...), each with GPU time and/or measured energy.

`read_campaign` validates a file completely (nothing touches Brightway before it passes);
`write_campaign` writes it into the project as ordinary activities, in a database of its own
(`aicompute-campaign-<slug>`): campaign -> phases -> GPU time (embodied shares) and IT energy
(datacenter operation), plus the campaign's own datasets for overrides (grid, PUE/WUE,
embodied footprints). Re-writing a campaign replaces that database only.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import AicomputeError
from .inventory import tables as inventory_tables

KINDS = (
    "pretraining",
    "fine-tuning",
    "ablation",
    "hyperparameter search",
    "failed or restarted run",
    "debugging",
    "evaluation",
    "idle reservation",
)

STAGES = (
    "GPU manufacturing",
    "server, network and storage manufacturing",
    "datacenter infrastructure",
    "electricity",
    "on-site water",
)

CAMPAIGN_DB_PREFIX = "aicompute-campaign-"

# units accepted in quantity strings ("433.2 MWh", "118 d"), to the field's base unit
ENERGY_UNITS = {"Wh": 1e-3, "kWh": 1.0, "MWh": 1e3, "GWh": 1e6, "MJ": 1 / 3.6, "GJ": 1e3 / 3.6}
TIME_UNITS = {"h": 1.0, "d": 24.0, "day": 24.0, "days": 24.0, "week": 168.0, "weeks": 168.0}
GPU_TIME_UNITS = {"GPU-h": 1.0, "GPU-hours": 1.0, "GPU-d": 24.0}


@dataclass
class Override:
    """An embodied footprint given by a study: kg CO2-eq, and optionally water consumed (m3)
    and kg Sb-eq, per unit of hardware."""

    kg_co2e: float
    water_m3: float = 0.0
    kg_sb_eq: float = 0.0
    source: str = ""


@dataclass
class Site:
    country: str
    profile: str
    pue: float | None = None
    wue_l_per_kwh: float | None = None
    wue_basis: str | None = None  # "consumption" or "withdrawal"
    grid_kg_co2e_per_kwh: float | None = None
    grid_water_l_per_kwh: float | None = None
    grid_source: str = ""


@dataclass
class Hardware:
    gpu: str  # slug, e.g. "h100_sxm_80gb"
    gpus_per_node: float | None = None
    gpu_embodied: Override | None = None
    server_embodied: Override | None = None
    lifetime_years: float | None = None
    utilisation: float | None = None
    switches_per_gpu: float | None = None
    storage_tb_per_gpu: float | None = None
    datacenter_infrastructure: bool = True


@dataclass
class Phase:
    name: str
    kind: str
    gpu: str
    gpu_hours: float  # GPU time given as GPU-hours or GPUs x hours
    energy_kwh: float | None  # measured IT energy, replaces the power model
    extra_energy_kwh: float
    load_factor: float | None
    node_overhead_w_per_gpu: float | None
    description: str = ""
    energy_source: str = ""
    node_hours: float = 0.0  # GPU time given as nodes x hours (x GPUs per node when written)
    measured_gpu_kwh: float | None = None  # GPU energy integrated from a telemetry log


@dataclass
class Campaign:
    name: str
    description: str
    site: Site
    hardware: Hardware
    phases: list[Phase]
    path: Path | None = None
    inputs: dict = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return slugify(self.name)

    @property
    def database(self) -> str:
        return CAMPAIGN_DB_PREFIX + self.slug

    def database_for(self, foreground: str) -> str:
        """The campaign's database when linked to `foreground` (a suffix for linked copies, so
        that open and ecoinvent results sit side by side)."""
        return self.database if foreground == "aicompute" else f"{self.database}--{foreground.removeprefix('aicompute-linked-')}"


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ---------------------------------------------------------------------------------------------
# reading and validation


class _Reader:
    """Validates one campaign document, naming the file and the field of every problem."""

    def __init__(self, path: Path | str, doc: Any, where_prefix: str = ""):
        self.path = str(path)
        self.doc = doc

    def fail(self, field_: str, problem: str) -> AicomputeError:
        return AicomputeError(f"{self.path}: field '{field_}': {problem}")

    def mapping(self, value: Any, field_: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(field_, "must be a mapping of keys to values")
        return value

    def known_keys(self, value: dict, allowed: tuple[str, ...], field_: str) -> None:
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(allowed)}"
                raise self.fail(f"{field_}.{key}" if field_ else str(key), f"unknown field{hint}")

    def text(self, value: Any, field_: str, required: bool = True) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(field_, "is required")
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise self.fail(field_, f"must be text, not {value!r}")
        return str(value).strip()

    def number(self, value: Any, field_: str, units: dict[str, float] | None = None, positive: bool = True, allow_zero: bool = False) -> float:
        if isinstance(value, bool):
            raise self.fail(field_, f"must be a number, not {value!r}")
        if isinstance(value, str) and units:
            m = re.fullmatch(r"\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z-]+)\s*", value)
            if not m:
                raise self.fail(field_, f"{value!r} is not a number followed by a unit ({', '.join(units)})")
            number, unit = m.groups()
            if unit not in units:
                close = difflib.get_close_matches(unit, list(units), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(field_, f"unknown unit {unit!r}{hint}; use one of {', '.join(units)}")
            value = float(number) * units[unit]
        elif isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self.fail(field_, f"{value!r} is not a number") from None
        if not isinstance(value, (int, float)):
            raise self.fail(field_, f"must be a number, not {value!r}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise self.fail(field_, "must be a finite number")
        if positive and (value < 0 or (value == 0 and not allow_zero)):
            raise self.fail(field_, f"must be {'zero or ' if allow_zero else ''}positive, got {value:g}")
        return value

    def share(self, value: Any, field_: str) -> float:
        v = self.number(value, field_)
        if v > 1:
            raise self.fail(field_, f"is a share and must be at most 1, got {v:g}")
        return v


def _gpu_catalog() -> dict[str, tuple[str, str]]:
    """Normalized name -> (slug, display name) for every GPU model of the inventories."""
    out = {}
    for row in inventory_tables()["all_gpus"]:
        for key in (row["gpu"], row["name"]):
            out[_norm(key)] = (row["gpu"], row["name"])
    return out


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def resolve_gpu(reader: _Reader, value: Any, field_: str) -> str:
    name = reader.text(value, field_)
    catalog = _gpu_catalog()
    if _norm(name) in catalog:
        return catalog[_norm(name)][0]
    names = sorted({v[1] for v in catalog.values()})
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise reader.fail(field_, f"unknown GPU model {name!r}{hint}; known: {', '.join(names)}")


def countries() -> list[str]:
    return sorted({row["iso2"] for row in inventory_tables()["grid_countries"]} | {"GLO"})


def profiles() -> dict[str, dict]:
    return {row["profile"]: row for row in inventory_tables()["profiles"]}


CAMPAIGN_KEYS = ("campaign", "site", "hardware", "defaults", "phases")
PHASE_KEYS = (
    "name",
    "kind",
    "description",
    "gpu",
    "gpu_hours",
    "nodes",
    "gpus",
    "hours",
    "energy",
    "energy_source",
    "extra_energy",
    "load_factor",
    "node_overhead_w_per_gpu",
    "telemetry",
)
TELEMETRY_KEYS = ("file", "start", "end", "gap_seconds")
DEFAULT_KEYS = ("gpu", "load_factor", "node_overhead_w_per_gpu", "kind")
SITE_KEYS = ("country", "profile", "pue", "wue_l_per_kwh", "wue_basis", "grid")
GRID_KEYS = ("kg_co2e_per_kwh", "water_l_per_kwh", "source")
HARDWARE_KEYS = (
    "gpu",
    "gpus_per_node",
    "gpu_embodied",
    "server_embodied",
    "lifetime_years",
    "utilisation",
    "switches_per_gpu",
    "storage_tb_per_gpu",
    "datacenter_infrastructure",
)
OVERRIDE_KEYS = ("kg_co2e", "water_m3", "kg_sb_eq", "source")


def parse_campaign(doc: Any, path: Path | str) -> Campaign:
    """Validate a campaign document (as read from YAML or Excel) and return a `Campaign`."""
    r = _Reader(path, doc)
    doc = r.mapping(doc, "(top level)")
    r.known_keys(doc, CAMPAIGN_KEYS, "")
    for key in ("campaign", "site", "phases"):
        if key not in doc:
            raise r.fail(key, "is required")
    meta = r.mapping(doc["campaign"], "campaign")
    r.known_keys(meta, ("name", "description"), "campaign")
    name = r.text(meta.get("name"), "campaign.name")
    description = r.text(meta.get("description"), "campaign.description", required=False)

    # site
    site_doc = r.mapping(doc["site"], "site")
    r.known_keys(site_doc, SITE_KEYS, "site")
    known_profiles = profiles()
    profile = r.text(site_doc.get("profile", "industry-average"), "site.profile")
    if profile not in known_profiles:
        close = difflib.get_close_matches(profile, list(known_profiles), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise r.fail("site.profile", f"unknown profile {profile!r}{hint}; known: {', '.join(known_profiles)}")
    country = r.text(site_doc.get("country", known_profiles[profile]["default_country"]), "site.country").upper()
    if country == "WORLD":
        country = "GLO"
    if country not in countries():
        close = difflib.get_close_matches(country, countries(), n=3)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise r.fail("site.country", f"unknown country {country!r} (ISO 3166 two-letter code or GLO){hint}; known: {', '.join(countries())}")
    site = Site(country=country, profile=profile)
    if "pue" in site_doc:
        site.pue = r.number(site_doc["pue"], "site.pue")
        if site.pue < 1:
            raise r.fail("site.pue", f"a PUE is at least 1, got {site.pue:g}")
    if "wue_l_per_kwh" in site_doc:
        site.wue_l_per_kwh = r.number(site_doc["wue_l_per_kwh"], "site.wue_l_per_kwh", allow_zero=True)
        site.wue_basis = r.text(site_doc.get("wue_basis", "consumption"), "site.wue_basis")
        if site.wue_basis not in ("consumption", "withdrawal"):
            raise r.fail("site.wue_basis", "must be 'consumption' or 'withdrawal'")
    elif "wue_basis" in site_doc:
        raise r.fail("site.wue_basis", "is given without site.wue_l_per_kwh")
    if "grid" in site_doc:
        grid = r.mapping(site_doc["grid"], "site.grid")
        r.known_keys(grid, GRID_KEYS, "site.grid")
        if "kg_co2e_per_kwh" not in grid:
            raise r.fail("site.grid.kg_co2e_per_kwh", "is required when site.grid is given")
        site.grid_kg_co2e_per_kwh = r.number(grid["kg_co2e_per_kwh"], "site.grid.kg_co2e_per_kwh", allow_zero=True)
        if "water_l_per_kwh" in grid:
            site.grid_water_l_per_kwh = r.number(grid["water_l_per_kwh"], "site.grid.water_l_per_kwh", allow_zero=True)
        site.grid_source = r.text(grid.get("source"), "site.grid.source", required=False)

    # hardware
    hw_doc = r.mapping(doc.get("hardware") or {}, "hardware")
    r.known_keys(hw_doc, HARDWARE_KEYS, "hardware")
    defaults = r.mapping(doc.get("defaults") or {}, "defaults")
    r.known_keys(defaults, DEFAULT_KEYS, "defaults")
    if "gpu" not in hw_doc and "gpu" not in defaults:
        raise r.fail("hardware.gpu", "is required (the GPU model, e.g. 'H100 SXM 80GB')")
    hw = Hardware(gpu=resolve_gpu(r, hw_doc.get("gpu", defaults.get("gpu")), "hardware.gpu"))
    if "gpus_per_node" in hw_doc:
        hw.gpus_per_node = r.number(hw_doc["gpus_per_node"], "hardware.gpus_per_node")
    for key in ("gpu_embodied", "server_embodied"):
        if key in hw_doc:
            o = r.mapping(hw_doc[key], f"hardware.{key}")
            r.known_keys(o, OVERRIDE_KEYS, f"hardware.{key}")
            if "kg_co2e" not in o:
                raise r.fail(f"hardware.{key}.kg_co2e", "is required")
            setattr(
                hw,
                key,
                Override(
                    kg_co2e=r.number(o["kg_co2e"], f"hardware.{key}.kg_co2e", allow_zero=True),
                    water_m3=r.number(o.get("water_m3", 0), f"hardware.{key}.water_m3", allow_zero=True),
                    kg_sb_eq=r.number(o.get("kg_sb_eq", 0), f"hardware.{key}.kg_sb_eq", allow_zero=True),
                    source=r.text(o.get("source"), f"hardware.{key}.source", required=False),
                ),
            )
    if "lifetime_years" in hw_doc:
        hw.lifetime_years = r.number(hw_doc["lifetime_years"], "hardware.lifetime_years")
    if "utilisation" in hw_doc:
        hw.utilisation = r.share(hw_doc["utilisation"], "hardware.utilisation")
    if "switches_per_gpu" in hw_doc:
        hw.switches_per_gpu = r.number(hw_doc["switches_per_gpu"], "hardware.switches_per_gpu", allow_zero=True)
    if "storage_tb_per_gpu" in hw_doc:
        hw.storage_tb_per_gpu = r.number(hw_doc["storage_tb_per_gpu"], "hardware.storage_tb_per_gpu", allow_zero=True)
    if "datacenter_infrastructure" in hw_doc:
        if not isinstance(hw_doc["datacenter_infrastructure"], bool):
            raise r.fail("hardware.datacenter_infrastructure", "must be true or false")
        hw.datacenter_infrastructure = hw_doc["datacenter_infrastructure"]

    # phases
    phases_doc = doc["phases"]
    if not isinstance(phases_doc, list) or not phases_doc:
        raise r.fail("phases", "must be a non-empty list of phases")
    phases, seen = [], set()
    for i, p in enumerate(phases_doc):
        f = f"phases[{i + 1}]"
        p = r.mapping(p, f)
        r.known_keys(p, PHASE_KEYS, f)
        pname = r.text(p.get("name"), f"{f}.name")
        f = f"phases[{i + 1}] ({pname})"
        if pname in seen:
            raise r.fail(f"{f}.name", "is used by another phase")
        seen.add(pname)
        kind = r.text(p.get("kind", defaults.get("kind")), f"{f}.kind")
        if kind not in KINDS:
            close = difflib.get_close_matches(kind, KINDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise r.fail(f"{f}.kind", f"unknown kind {kind!r}{hint}; use one of: {', '.join(KINDS)}")
        gpu = resolve_gpu(r, p["gpu"], f"{f}.gpu") if "gpu" in p else hw.gpu
        given = [k for k in ("telemetry", "gpu_hours", "nodes", "gpus") if k in p]
        if "telemetry" in p and "energy" in p:
            raise r.fail(f"{f}.energy", f"contradicts {f}.telemetry: the log gives the measured energy")
        if len(given) > 1:
            raise r.fail(f"{f}.{given[1]}", f"contradicts {f}.{given[0]}: give GPU time once, as gpu_hours, or nodes x hours, or gpus x hours")
        gpu_hours = nodes = 0.0
        measured = None
        if "telemetry" in p:
            if "hours" in p:
                raise r.fail(f"{f}.hours", "contradicts telemetry (the log gives the duration)")
            measured, gpu_hours, source = _phase_telemetry(r, p["telemetry"], f"{f}.telemetry", Path(path).parent)
            p = {**p, "energy_source": p.get("energy_source") or source}
        elif "gpu_hours" in p:
            if "hours" in p:
                raise r.fail(f"{f}.hours", "contradicts gpu_hours (hours goes with nodes or gpus)")
            gpu_hours = r.number(p["gpu_hours"], f"{f}.gpu_hours", GPU_TIME_UNITS)
        elif given:
            count = r.number(p[given[0]], f"{f}.{given[0]}")
            if "hours" not in p:
                raise r.fail(f"{f}.hours", f"is required with {given[0]} (wall-clock hours)")
            hours = r.number(p["hours"], f"{f}.hours", TIME_UNITS)
            if given[0] == "gpus":
                gpu_hours = count * hours
            else:
                nodes = count * hours  # node-hours; x GPUs per node when written
        elif "hours" in p:
            raise r.fail(f"{f}.hours", "needs nodes or gpus")
        energy = r.number(p["energy"], f"{f}.energy", ENERGY_UNITS) if "energy" in p else None
        extra = r.number(p["extra_energy"], f"{f}.extra_energy", ENERGY_UNITS) if "extra_energy" in p else 0.0
        if gpu_hours == 0 and nodes == 0 and energy is None and extra == 0 and not measured:
            raise r.fail(f, "has no compute: give gpu_hours, nodes x hours, gpus x hours, energy or extra_energy")
        lf = p.get("load_factor", defaults.get("load_factor"))
        overhead = p.get("node_overhead_w_per_gpu", defaults.get("node_overhead_w_per_gpu"))
        phase = Phase(
            name=pname,
            kind=kind,
            gpu=gpu,
            gpu_hours=gpu_hours,
            energy_kwh=energy,
            extra_energy_kwh=extra,
            load_factor=r.share(lf, f"{f}.load_factor") if lf is not None else None,
            node_overhead_w_per_gpu=r.number(overhead, f"{f}.node_overhead_w_per_gpu", allow_zero=True) if overhead is not None else None,
            description=r.text(p.get("description"), f"{f}.description", required=False),
            energy_source=r.text(p.get("energy_source"), f"{f}.energy_source", required=False),
            node_hours=nodes,
            measured_gpu_kwh=measured,
        )
        phases.append(phase)
    return Campaign(name=name, description=description, site=site, hardware=hw, phases=phases, path=Path(path), inputs=doc)


def _phase_telemetry(r: _Reader, spec: Any, field_: str, base: Path) -> tuple[float, float, str]:
    """(measured GPU kWh, GPU-hours, description) of a phase's telemetry log."""
    from .telemetry import read_log

    if isinstance(spec, str):
        spec = {"file": spec}
    spec = r.mapping(spec, field_)
    r.known_keys(spec, TELEMETRY_KEYS, field_)
    name = r.text(spec.get("file"), f"{field_}.file")
    log = Path(name) if Path(name).is_absolute() else base / name
    gap = r.number(spec.get("gap_seconds", 5.0), f"{field_}.gap_seconds")
    start = str(spec["start"]) if spec.get("start") is not None else None
    end = str(spec["end"]) if spec.get("end") is not None else None
    try:
        summary = read_log(log, start=start, end=end, gap_seconds=gap)
    except AicomputeError as exc:
        raise r.fail(f"{field_}.file", str(exc)) from None
    if summary.energy_kwh <= 0 or summary.gpu_hours <= 0:
        raise r.fail(f"{field_}.file", f"{log}: no energy or duration in the selected window")
    window = f" from {start}" if start else ""
    window += f" to {end}" if end else ""
    source = f"telemetry {log.name}{window}: {summary.energy_kwh:.6g} kWh GPU energy, {len(summary.gpus)} GPU(s) x {summary.duration_s:.0f} s"
    return summary.energy_kwh, summary.gpu_hours, source


def read_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign file (.yaml/.yml or .xlsx)."""
    path = Path(path)
    if not path.is_file():
        raise AicomputeError(f"{path}: campaign file not found")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from .excel import read_campaign_workbook

        doc = read_campaign_workbook(path)
    elif path.suffix.lower() in (".yaml", ".yml"):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise AicomputeError(f"{path}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
        except UnicodeDecodeError:
            raise AicomputeError(f"{path}: not a text file") from None
    else:
        raise AicomputeError(f"{path}: unknown file type; use .yaml, .yml or .xlsx")
    return parse_campaign(doc, path)


# ---------------------------------------------------------------------------------------------
# writing into Brightway


@dataclass
class PhaseModel:
    phase: Phase
    gpu_hours: float
    it_energy_kwh: float
    key: tuple[str, str]


@dataclass
class CampaignModel:
    campaign: Campaign
    database: str
    key: tuple[str, str]
    phases: list[PhaseModel]
    foreground: str = "aicompute"


def _param(name: str, foreground: str = "aicompute") -> float:
    from bw2data.parameters import DatabaseParameter

    return float(DatabaseParameter.get(database=foreground, name=name).amount)


def _bio(biosphere: str, flows: dict, name: str, categories: tuple, unit: str, amount: float, source: str, comment: str = "") -> dict:
    from bw2data.backends import ActivityDataset as AD

    flow_id = flows[(name, categories, unit)]
    code = AD.get(AD.id == flow_id).code
    exc = {"input": (biosphere, code), "amount": amount, "type": "biosphere", "unit": unit, "source": source}
    if comment:
        exc["comment"] = comment
    return exc


def _tech(key: tuple[str, str], amount: float, unit: str, source: str) -> dict:
    return {"input": key, "amount": amount, "type": "technosphere", "unit": unit, "source": source}


def write_campaign(campaign: Campaign, biosphere: str, foreground: str = "aicompute") -> CampaignModel:
    """Write the campaign into the current project (database `aicompute-campaign-<slug>`, with
    a suffix when `foreground` is a linked copy), replacing that database only, and return the
    amounts used for the stage breakdown. `foreground` is the database of the hardware and
    datacenter datasets: `aicompute`, or a copy linked to ecoinvent."""
    import functools

    import bw2data as bd

    from .methods import OWNER_KEY
    from .project import flow_index, write_owned

    c, hw, site = campaign, campaign.hardware, campaign.site
    db = c.database_for(foreground)
    _param = functools.partial(globals()["_param"], foreground=foreground)
    FG = foreground
    if db in bd.databases and OWNER_KEY not in bd.databases[db]:
        raise AicomputeError(f"database {db!r} exists and was not created by bw_aicompute; rename the campaign")
    gpus = {row["gpu"]: row for row in inventory_tables()["all_gpus"]}
    profile = profiles()[site.profile]
    flows = flow_index(biosphere)
    # Every amount below is written as a formula over the foreground's parameters (or the
    # campaign's overrides as numbers) and evaluated here; the formulas stay on the exchanges so
    # that Monte Carlo can resample the parameters (see `uncertainty`).
    from bw2data.parameters import DatabaseParameter

    from .inventory import FormulaEvaluator, formula_names

    params = {p.name: p.amount for p in DatabaseParameter.select().where(DatabaseParameter.database == FG)}

    def term(override, name: str) -> str:
        return repr(float(override)) if override is not None else name

    evaluator = FormulaEvaluator(params)

    def value(formula: str) -> float:
        return float(evaluator(formula))

    def with_formula(exc: dict, formula: str) -> dict:
        if formula_names(formula) & set(params):
            exc["formula"] = formula
        return exc

    def ftech(key, formula: str, unit: str, source: str) -> dict:
        return with_formula(_tech(key, value(formula), unit, source), formula)

    def fbio(name, categories, unit, formula: str, source: str) -> dict:
        return with_formula(_bio(biosphere, flows, name, categories, unit, value(formula), source), formula)

    L = term(hw.lifetime_years, "hw_lifetime_years")
    U = term(hw.utilisation, "utilisation")
    S = term(hw.switches_per_gpu, "switches_per_gpu")
    T = term(hw.storage_tb_per_gpu, "storage_tb_per_gpu")
    PUE = term(site.pue, profile["pue"])
    WUE = term(site.wue_l_per_kwh, profile["wue"])
    W = repr(float(site.wue_basis == "withdrawal")) if site.wue_basis else profile["wue_withdrawal"]
    E = "cooling_water_evaporated_share"
    v = {
        "lifetime_years": value(L),
        "utilisation": value(U),
        "switches_per_gpu": value(S),
        "storage_tb_per_gpu": value(T),
        "pue": value(PUE),
        "wue_l_per_kwh": value(WUE),
        "evaporated_share": value(E),
    }
    wue_is_withdrawal = bool(value(W))
    data: dict[tuple[str, str], dict] = {}

    def add(code: str, name: str, unit: str, exchanges: list[dict], comment: str, location: str = "GLO", **extra) -> tuple[str, str]:
        key = (db, code)
        data[key] = {
            "name": name,
            "reference product": name.split(",")[0],
            "unit": unit,
            "location": location,
            "comment": comment,
            "exchanges": [{"input": key, "amount": 1.0, "type": "production", "unit": unit}] + exchanges,
            **extra,
        }
        return key

    src = f"campaign file {c.path.name if c.path else c.name}"
    # grid: the provider that the foreground's datacenter operation of that country uses (the
    # open grid mix, or the ecoinvent market in a linked foreground)
    country_dcop = bd.get_node(database=FG, code=f"datacenter-operation-{site.country}")
    shipped_grid = next(e.input.key for e in country_dcop.technosphere())
    background_grid = bd.get_node(database="aicompute-background", code=f"electricity-grid-{site.country}")
    if site.grid_kg_co2e_per_kwh is not None:
        grid_node = background_grid
        excs = [_bio(biosphere, flows, "Carbon dioxide, fossil", ("air",), "kilogram", site.grid_kg_co2e_per_kwh, site.grid_source or src)]
        if site.grid_water_l_per_kwh is not None:
            w = site.grid_water_l_per_kwh / 1000
            excs.append(_bio(biosphere, flows, "Water", ("air",), "cubic meter", w, site.grid_source or src))
            excs.append(_bio(biosphere, flows, "Water, unspecified natural origin", ("natural resource", "in water"), "cubic meter", w, "withdrawal = consumption"))
        for exc in grid_node.biosphere():
            flow = exc.input
            is_water = flow["name"].startswith("Water")
            if flow["name"] == "Carbon dioxide, fossil" or (is_water and site.grid_water_l_per_kwh is not None):
                continue
            excs.append({"input": flow.key, "amount": exc["amount"], "type": "biosphere", "unit": flow["unit"], "source": f"as {grid_node['name']} [{site.country}]: {exc.get('source', '')}"})
        grid_key = add(
            "grid",
            f"electricity, grid mix as given by the campaign, {site.country}",
            "kilowatt hour",
            excs,
            f"Grid override of campaign {c.name!r}: {site.grid_kg_co2e_per_kwh} kg CO2-eq/kWh"
            + (f", {site.grid_water_l_per_kwh} L/kWh" if site.grid_water_l_per_kwh is not None else "; water, ADPe and ADPf of the country grid")
            + (f" ({site.grid_source})" if site.grid_source else ""),
            location=site.country,
            stage="electricity",
        )
    else:
        grid_key = shipped_grid
    # datacenter operation
    shipped_site = {"industry-average": site.country, "hyperscaler": "hyperscaler-US" if site.country == "US" else None, "free-cooled-colocation": "colo-free-cooled-FR" if site.country == "FR" else None}[site.profile]
    own_dcop = site.pue is not None or site.wue_l_per_kwh is not None or site.grid_kg_co2e_per_kwh is not None or shipped_site is None
    if own_dcop:
        evap = f"{WUE} / 1000 * (1 - {W} * (1 - {E}))"
        excs = [ftech(grid_key, PUE, "kilowatt hour", f"PUE {v['pue']:g} ({'campaign' if site.pue is not None else site.profile + ' profile'})")]
        if value(evap) > 0:
            excs += [
                fbio("Water", ("air",), "cubic meter", evap, f"WUE {v['wue_l_per_kwh']:g} L/kWh IT ({'campaign' if site.wue_l_per_kwh is not None else site.profile + ' profile'})"),
                fbio("Water, unspecified natural origin", ("natural resource", "in water"), "cubic meter", f"({evap}) / {E}", "evaporation / cooling_water_evaporated_share"),
                fbio("Water", ("water", "surface water"), "cubic meter", f"({evap}) * (1 / {E} - 1)", "withdrawal - evaporation (balance)"),
            ]
        dcop_key = add(
            "datacenter-operation",
            f"datacenter operation, per kWh of IT energy, {c.name}",
            "kilowatt hour",
            excs,
            f"Facility of campaign {c.name!r}: {site.profile} profile, {site.country} grid, PUE {v['pue']:g}, WUE {v['wue_l_per_kwh']:g} L/kWh ({'withdrawal' if wue_is_withdrawal else 'consumption'}).",
            location=site.country,
            stage="on-site water",
        )
    else:
        dcop_key = (FG, f"datacenter-operation-{shipped_site}")

    # hardware per GPU model used
    gpu_time_keys, card_keys, server_keys, per_node = {}, {}, {}, {}
    for slug in sorted({p.gpu for p in c.phases}):
        name, server = gpus[slug]["name"], gpus[slug]["server"]
        N = per_node[slug] = term(hw.gpus_per_node, f"{slug}_gpus_per_node")
        if hw.gpu_embodied is not None:
            o = hw.gpu_embodied
            card_keys[slug] = add(f"gpu-card-{slug}", f"GPU card, {name}, embodied footprint as given", "unit", _override_exchanges(biosphere, flows, o, src), f"Embodied footprint of one {name} as given by campaign {c.name!r} ({o.source or 'no source given'}); indicators not given are zero.", stage="GPU manufacturing")
        else:
            card_keys[slug] = (FG, f"gpu-card-{slug}")
        if hw.server_embodied is not None:
            o = hw.server_embodied
            server_keys[slug] = add(f"server-{slug}", f"GPU server without GPUs, for {name}, embodied footprint as given", "unit", _override_exchanges(biosphere, flows, o, src), f"Embodied footprint of one server (without GPUs) as given by campaign {c.name!r} ({o.source or 'no source given'}); indicators not given are zero.", stage="server, network and storage manufacturing")
        else:
            server_keys[slug] = (FG, f"server-{server}")
        excs = [
            ftech(card_keys[slug], f"1 / ({L} * 8760 * {U})", "unit", "1 / (lifetime hours x utilisation)"),
            ftech(server_keys[slug], f"1 / ({N} * {L} * 8760 * {U})", "unit", f"server shared by {value(N):g} GPUs"),
        ]
        if v["switches_per_gpu"] > 0:
            excs.append(ftech((FG, "network-switch"), f"{S} / ({L} * 8760 * {U})", "unit", "switches per GPU"))
        if v["storage_tb_per_gpu"] > 0:
            excs.append(ftech((FG, "storage-tb-year"), f"{T} / (8760 * {U})", "terabyte year", "storage per GPU"))
        if hw.datacenter_infrastructure:
            excs.append(ftech((FG, "datacenter-infrastructure-kw-year"), f"({slug}_tdp_w + node_overhead_w_per_gpu) / 1000 / (8760 * {U})", "kilowatt year", "IT capacity of one GPU and its node share"))
        gpu_time_keys[slug] = add(f"gpu-time-{slug}", f"GPU time, {name}, embodied share, {c.name}", "hour", excs, f"Time-allocated embodied share of one {name} GPU-hour in campaign {c.name!r}: lifetime {v['lifetime_years']:g} years, utilisation {v['utilisation']:g}.")

    # phases
    phase_models = []
    for i, p in enumerate(c.phases, start=1):
        gh = repr(p.gpu_hours) + (f" + {p.node_hours!r} * {per_node[p.gpu]}" if p.node_hours else "")
        LF = term(p.load_factor, "gpu_load_factor")
        OH = term(p.node_overhead_w_per_gpu, "node_overhead_w_per_gpu")
        if p.energy_kwh is not None:
            energy = repr(p.energy_kwh + p.extra_energy_kwh)
            how = f"measured {p.energy_kwh:g} kWh ({p.energy_source or 'campaign file'})"
        elif p.measured_gpu_kwh is not None:  # telemetry: measured GPU energy + modelled node overhead
            energy = f"{p.measured_gpu_kwh!r} + ({gh}) * {OH} / 1000 + {p.extra_energy_kwh!r}"
            how = f"{p.energy_source} + node overhead {value(gh):g} GPU-h x {value(OH):g} W"
        else:
            energy = f"({gh}) * ({p.gpu}_tdp_w * {LF} + {OH}) / 1000 + {p.extra_energy_kwh!r}"
            how = f"{value(gh):g} GPU-h x ({value(p.gpu + '_tdp_w'):g} W x {value(LF):g} + {value(OH):g} W)"
        excs = []
        if value(gh) > 0:
            excs.append(ftech(gpu_time_keys[p.gpu], gh, "hour", "GPU time of the phase (campaign file)"))
        if value(energy) > 0:
            excs.append(ftech(dcop_key, energy, "kilowatt hour", how + (f" + {p.extra_energy_kwh:g} kWh extra" if p.extra_energy_kwh else "")))
        key = add(f"phase-{i}", f"phase, {p.name} ({p.kind}), {c.name}", "unit", excs, p.description or f"{p.kind} phase of campaign {c.name!r}", phase=p.name, kind=p.kind)
        phase_models.append(PhaseModel(phase=p, gpu_hours=value(gh), it_energy_kwh=value(energy), key=key))
    fu = add("campaign", f"campaign, {c.name}", "unit", [_tech(pm.key, 1.0, "unit", "phase of the campaign") for pm in phase_models], c.description or f"Training campaign {c.name!r}")

    meta = {"format": "bw_aicompute campaign", "depends": sorted({k[0] for d in data.values() for e in d["exchanges"] for k in [e["input"]]} - {db}), "campaign": c.name, "campaign_file": str(c.path) if c.path else ""}
    write_owned(bd.databases, bd.Database(db), db, meta, "campaign", lambda: bd.Database(db).write(data), kind="campaign")
    return CampaignModel(campaign=c, database=db, key=fu, phases=phase_models, foreground=FG)


def _override_exchanges(biosphere: str, flows: dict, o: Override, source: str) -> list[dict]:
    src = o.source or source
    excs = [_bio(biosphere, flows, "Carbon dioxide, fossil", ("air",), "kilogram", o.kg_co2e, src, "GHG as given, lumped as CO2-eq")]
    if o.water_m3:
        excs.append(_bio(biosphere, flows, "Water", ("air",), "cubic meter", o.water_m3, src))
        excs.append(_bio(biosphere, flows, "Water, unspecified natural origin", ("natural resource", "in water"), "cubic meter", o.water_m3, "withdrawal = consumption"))
    if o.kg_sb_eq:
        excs.append(_bio(biosphere, flows, "Antimony", ("natural resource", "in ground"), "kilogram", o.kg_sb_eq, src, "PROXY flow carrying kg Sb-eq"))
    return excs
