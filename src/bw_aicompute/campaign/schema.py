"""What a campaign is: its types, the phase kinds and life-cycle stages, the fields of a
campaign file and the units its quantities accept. No I/O here."""

from __future__ import annotations

import re
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

#: Phase kinds of a research campaign.
KINDS = (
    "pretraining",
    "fine-tuning",
    "ablation",
    "hyperparameter search",
    "failed or restarted run",
    "debugging",
    "evaluation",
    "idle reservation",
    "inference",
)

#: Life-cycle stages of the breakdown, in report order (the `stage` tags of the inventories).
STAGES = (
    "GPU manufacturing",
    "server, network and storage manufacturing",
    "datacenter infrastructure",
    "electricity",
    "on-site water",
)

CAMPAIGN_DB_PREFIX = "aicompute-campaign-"

#: Units accepted in quantity strings ("433.2 MWh", "118 d"), to the field's base unit:
#: kWh for energy, hours for time, GPU-hours for GPU time.
ENERGY_UNITS = {"Wh": 1e-3, "kWh": 1.0, "MWh": 1e3, "GWh": 1e6, "MJ": 1 / 3.6, "GJ": 1e3 / 3.6}
TIME_UNITS = {"h": 1.0, "d": 24.0, "day": 24.0, "days": 24.0, "week": 168.0, "weeks": 168.0, "month": 730.5, "months": 730.5, "year": 8766.0, "years": 8766.0}
GPU_TIME_UNITS = {"GPU-h": 1.0, "GPU-hours": 1.0, "GPU-d": 24.0}

#: Physical range of every number of a campaign file (inclusive, base units: GPU-hours, hours,
#: kWh, W, L, m3, kg), by field name: checked before anything is written, so that a typo such
#: as `pue: 1e300` is an error, not a result.
RANGES = {
    "pue": (1.0, 3.0),
    "wue_l_per_kwh": (0.0, 20.0),
    "kg_co2e_per_kwh": (0.0, 2.0),
    "water_l_per_kwh": (0.0, 200.0),
    "gpus_per_node": (1.0, 1000.0),
    "lifetime_years": (0.5, 30.0),
    "utilisation": (0.01, 1.0),
    "switches_per_gpu": (0.0, 10.0),
    "storage_tb_per_gpu": (0.0, 1000.0),
    "kg_co2e": (0.0, 1e6),  # per GPU card or server
    "water_m3": (0.0, 1e5),
    "kg_sb_eq": (0.0, 100.0),
    "gap_seconds": (0.001, 86400.0),
    "gpu_hours": (0.0, 1e11),
    "nodes": (0.0, 1e7),
    "gpus": (0.0, 1e7),
    "hours": (0.0, 1e6),
    "energy": (0.0, 1e10),
    "requests": (0.0, 1e18),
    "tokens": (0.0, 1e21),
    "audio_hours": (0.0, 1e15),
    "images": (0.0, 1e18),
    "amortise_over": (0.0, 1e21),
    "tokens_per_second_per_gpu": (0.0, 1e7),
    "tokens_per_request": (0.0, 1e8),
    "audio_hours_per_gpu_hour": (0.0, 1e5),
    "images_per_gpu_hour": (0.0, 1e8),
    "batch_size": (1.0, 1e6),
    "extra_energy": (0.0, 1e10),
    "load_factor": (0.01, 1.0),
    "node_overhead_w_per_gpu": (0.0, 10_000.0),
    "node_overhead_share": (0.0, 10.0),
    "parameters": (1e3, 1e14),  # of the trained model (`model:`)
    "training_tokens": (1e3, 1e16),
    "training_flops": (1e9, 1e30),
}
MAX_PHASES = 20_000  # phases of one campaign
MAX_NAME = 100  # characters of a campaign or phase name

# the fields of a campaign file, section by section
CAMPAIGN_KEYS = ("campaign", "site", "hardware", "defaults", "phases", "deployment", "model")
#: The fields of `model:`, the trained model's size: the reference flows of the SCI for AI's
#: provider functional units (see `MODEL_UNITS`).
MODEL_KEYS = ("parameters", "training_tokens", "training_flops", "source")
#: The provider functional units of the Green Software Foundation's SCI for AI (SPEC.md 8.2,
#: github.com/Green-Software-Foundation/sci-ai: per parameter, per training token, per FLOP),
#: to (the `model:` field counting them, the count of that field in one unit): a PFLOP is
#: 1e15 FLOP.
MODEL_UNITS = {"parameter": ("parameters", 1.0), "training token": ("training_tokens", 1.0), "PFLOP": ("training_flops", 1e15)}
#: Multipliers accepted in the counts of `model:` ("7B", "2.1T tokens", "5 TFLOP").
COUNT_MULTIPLIERS = {"k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
#: Words accepted after the number (and multiplier) of each `model:` count, to a factor.
COUNT_WORDS = {
    "parameters": {"parameters": 1.0, "params": 1.0},
    "training_tokens": {"tokens": 1.0},
    "training_flops": {"FLOP": 1.0, "FLOPs": 1.0, "PFLOP": 1e15, "PFLOPs": 1e15, "EFLOP": 1e18, "EFLOPs": 1e18, "ZFLOP": 1e21, "ZFLOPs": 1e21},
}
DEPLOYMENT_KEYS = (
    "name", "gpu", "gpus", "nodes", "batch_size", "duration", "utilisation", "load_factor", "energy", "energy_source", "unit",
    "requests", "tokens", "audio_hours", "images", "tokens_per_second_per_gpu", "tokens_per_request",
    "audio_hours_per_gpu_hour", "images_per_gpu_hour", "throughput_source", "amortise_over",
    "telemetry", "request_log", "idle_gap_seconds",
)
#: The top-level fields of a serving file (a deployment that names the training campaign file it serves).
SERVING_KEYS = ("serves", "campaign", "site", "hardware", "deployment", "model")
#: Functional units of a deployment, with their plural, the field of a measured total and the
#: divisor from that total to the unit (tokens are counted by the thousand).
UNITS = ("request", "1000 tokens", "hour of audio", "image")
UNIT_PLURALS = {"request": "requests", "1000 tokens": "units of 1,000 tokens", "hour of audio": "hours of audio", "image": "images"}
MEASURED_UNITS = {"request": ("requests", 1.0), "1000 tokens": ("tokens", 1000.0), "hour of audio": ("audio_hours", 1.0), "image": ("images", 1.0)}
#: Words accepted after the number of `amortise_over` ("1e9 requests"), to (unit, factor).
UNIT_WORDS = {
    "request": ("request", 1.0), "requests": ("request", 1.0),
    "token": ("1000 tokens", 1e-3), "tokens": ("1000 tokens", 1e-3), "1000 tokens": ("1000 tokens", 1.0),
    "hour of audio": ("hour of audio", 1.0), "hours of audio": ("hour of audio", 1.0),
    "image": ("image", 1.0), "images": ("image", 1.0),
}
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
    "node_overhead_share",
    "telemetry",
    "start",
    "end",
)
TELEMETRY_KEYS = ("file", "start", "end", "gap_seconds")
DEFAULT_KEYS = ("gpu", "load_factor", "node_overhead_share", "node_overhead_w_per_gpu", "kind")
SITE_KEYS = ("country", "profile", "pue", "wue_l_per_kwh", "wue_basis", "grid", "grid_year", "grid_scenario", "monthly_mix", "hourly_intensity", "electricity_contract")
#: The technologies of a grid scenario (`site.grid_scenario`): the columns of the grid tables.
SCENARIO_TECHNOLOGIES = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo")
CONTRACT_KEYS = ("type", "technology", "share", "source")
CONTRACT_TYPES = ("ppa", "certificates")
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


@dataclass
class Override:
    """An embodied footprint given by a study, per unit of hardware: kg CO2-eq, and optionally
    water consumed (m3) and kg Sb-eq. It replaces only the indicators it gives (None: not
    given, the bottom-up inventory's figure stays)."""

    kg_co2e: float
    water_m3: float | None = None
    kg_sb_eq: float | None = None
    source: str = ""

    def given(self) -> list[str]:
        """The indicator families the override replaces: climate, and water and mineral
        depletion where given."""
        return ["climate"] + (["water"] if self.water_m3 is not None else []) + (["adp_minerals"] if self.kg_sb_eq is not None else [])


@dataclass
class Site:
    """Where the campaign runs: grid country (ISO 3166 alpha-2 or GLO), facility profile, and
    overrides of the PUE, the WUE (L per kWh of IT energy, as consumption or withdrawal) and the
    grid (kg CO2-eq and L of water per kWh)."""

    country: str
    profile: str
    pue: float | None = None
    wue_l_per_kwh: float | None = None
    wue_basis: str | None = None  # "consumption" or "withdrawal"
    grid_kg_co2e_per_kwh: float | None = None
    grid_water_l_per_kwh: float | None = None
    grid_source: str = ""
    contract: "Contract | None" = None
    grid_year: int | None = None  # an earlier year's generation mix (None: the latest)
    year_stated: bool = False  # site.grid_year given (the latest year too): the year is not open
    grid_scenario: "GridScenario | None" = None  # a planned mix (site.grid_scenario)
    monthly_mix: Any = None  # the monthly generation of the grid (site.monthly_mix; campaign.dates.MonthlyMix)
    hourly_intensity: Any = None  # an hourly intensity series (site.hourly_intensity; campaign.dates.HourlySeries)


@dataclass
class GridScenario:
    """A planned generation mix (`site.grid_scenario: FILE.yaml`): its name, year, source and
    shares of generation by technology (of `SCENARIO_TECHNOLOGIES`, summing to 1)."""

    name: str
    year: int
    source: str
    shares: dict[str, float]
    path: Path


@dataclass
class Contract:
    """An electricity contract for the market-based result: a PPA or certificates (`type`) of
    one generation technology covering `share` of the consumption, with its source."""

    type: str
    technology: str
    share: float
    source: str


@dataclass
class Hardware:
    """The GPU model (slug of the inventories, e.g. `h100_sxm_80gb`) and overrides of the
    foreground's parameters: GPUs per node, embodied footprints, lifetime (years), utilisation
    (share of the lifetime allocated to jobs), switches and storage (TB) per GPU."""

    gpu: str
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
    """One phase: GPU time (GPU-hours, and node-hours multiplied by the GPUs per node when
    written), measured IT energy (kWh, replaces the power model) or measured GPU energy from a
    telemetry log (kWh, node overhead modelled), extra energy (kWh), and power-model overrides."""

    name: str
    kind: str
    gpu: str
    gpu_hours: float
    energy_kwh: float | None
    extra_energy_kwh: float
    load_factor: float | None
    node_overhead_w_per_gpu: float | None
    description: str = ""
    node_overhead_share: float | None = None
    energy_source: str = ""
    node_hours: float = 0.0
    measured_gpu_kwh: float | None = None
    relative: tuple[float, str] | None = None  # (share, phase name or 'all') of `gpu_hours: 20% of ...`
    months: dict[str, float] = field(default_factory=dict)  # share of the hours in each month (`start`, `end`)
    hourly_kwh: dict = field(default_factory=dict, repr=False)  # GPU energy of its telemetry log by UTC hour
    hourly: Any = None  # the energy-weighted hourly intensity of its telemetry log (campaign.dates.HourlyResult)


@dataclass
class Deployment:
    """Serving the trained model: GPUs (model slug and count) for `hours`, serving a share
    `utilisation` of the time, and the units served, `served` (functional unit -> number):
    measured totals (`requests`, `tokens`, `audio_hours`, `images`) or modelled (tokens per
    second per GPU and tokens per request, hours of audio or images per GPU-hour). `unit` is the
    functional unit results are given per unless another is asked; the training is amortised
    over `amortise` ((number, unit); default: the units served). With its own `site` and
    `hardware` when it comes from a serving file that names them (default: the campaign's)."""

    name: str
    gpu: str
    gpus: float
    hours: float
    unit: str
    served: dict[str, float]
    throughput: str  # how the units were obtained, with the source
    load_factor: float | None = None
    amortise: tuple[float, str] | None = None
    measured_gpu_kwh: float | None = None  # GPU energy of a power log (then gpus x hours is the log's GPU time)
    energy_kwh: float | None = None  # measured IT energy (replaces the power model)
    energy_source: str = ""
    site: "Site | None" = None
    hardware: "Hardware | None" = None

    @property
    def units_served(self) -> float:
        """Units of `unit` served."""
        return self.served[self.unit]

    def amortise_over(self, unit: str) -> float:
        """The number of `unit` the training is amortised over: `amortise` converted with the
        ratio of the units served (1e9 requests at 400 tokens each = 4e8 x 1,000 tokens), or the
        units served."""
        if self.amortise is None:
            return self.served[unit]
        value, given = self.amortise
        return value if given == unit else value * self.served[unit] / self.served[given]


@dataclass
class ModelSize:
    """The trained model's size (`model:`): parameters, training tokens and training FLOP
    (counts, none required), the reference flows R of the SCI for AI's provider functional units
    (Green Software Foundation, SCI for AI, SPEC.md 8.2: SCI = C / R over the provider
    boundary, the training). `flops_estimated`: the FLOP were not given but estimated as
    6 x parameters x training tokens (Kaplan et al. 2020, arXiv:2001.08361, section 2.1;
    Hoffmann et al. 2022, arXiv:2203.15556, C = 6ND)."""

    parameters: float | None = None
    training_tokens: float | None = None
    training_flops: float | None = None
    flops_estimated: bool = False
    source: str = ""


@dataclass
class Campaign:
    """A validated campaign file (see `bw_aicompute.campaign.read_campaign`)."""

    name: str
    description: str
    site: Site
    hardware: Hardware
    phases: list[Phase]
    path: Path | None = None
    inputs: dict = field(default_factory=dict)
    resolved: list[str] = field(default_factory=list)  # aliases and what they were read as
    deployment: Deployment | None = None
    files: list[Path] = field(default_factory=list)  # every file read: the campaign file and those it names
    model: ModelSize | None = None  # the trained model's size (`model:`), for the SCI for AI units

    @property
    def slug(self) -> str:
        """The campaign name in lower case with dashes (`moshi-like`)."""
        return slugify(self.name)

    @property
    def database(self) -> str:
        """The campaign's Brightway database against the open foreground."""
        return CAMPAIGN_DB_PREFIX + self.slug

    def database_for(self, foreground: str) -> str:
        """The campaign's database when linked to `foreground` (a suffix for linked copies, so
        that open and ecoinvent results sit side by side)."""
        return self.database if foreground == "aicompute" else f"{self.database}--{foreground.removeprefix('aicompute-linked-')}"


@dataclass
class PhaseModel:
    """A phase as written: its GPU-hours and IT energy (kWh) at the default parameter values, and
    the key of its activity."""

    phase: Phase
    gpu_hours: float
    it_energy_kwh: float
    key: tuple[str, str]
    months: dict[str, tuple[str, str]] = field(default_factory=dict)  # month -> the activity of the phase's part in it
    hourly: dict | None = None  # the hourly intensity applied and the annual and monthly ones (kg CO2-eq/kWh)


@dataclass
class CampaignModel:
    """A campaign as written into a project: its database, the key of the campaign activity
    (the functional unit), its phases, and the foreground database it links to."""

    campaign: Campaign
    database: str
    key: tuple[str, str]
    phases: list[PhaseModel]
    foreground: str = "aicompute"
    serving: PhaseModel | None = None  # the deployment's activity, not part of the campaign


def slugify(text: str) -> str:
    """Lower case, runs of other characters replaced by one dash."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
