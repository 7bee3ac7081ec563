"""Sweeps: campaigns assessed under many variants at once (GPU model, country, PUE, hours...),
written into ONE Brightway database and solved together (`lca.multi_scores`: one solve of the
transposed technosphere per indicator, whatever the number of variants).

A variation is a dotted field of the campaign file and its values (`site.country=FR,US,DE`;
`phases.*.hours` sets the field of every phase, `phases.0.hours` of the first); the variants
are every combination of the values, for each campaign file given. Each variant is validated as
a campaign file is, before anything is written.
"""

from __future__ import annotations

import collections

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._resources import atomic_write, output_path, write_json
from .campaign import Campaign, CampaignModel, read_campaign
from .campaign.read import parse_campaign, parse_serving
from .campaign.schema import slugify
from .errors import AicomputeError

#: At most this many variants in one sweep.
MAX_VARIANTS = 10_000
SWEEP_DB_PREFIX = "aicompute-sweep-"


@dataclass
class Variation:
    """A dotted field of a campaign file and the values it takes."""

    field: str
    values: list[Any]


def parse_vary(text: str) -> Variation:
    """`FIELD=V1,V2,...` (values read as YAML scalars: `1.2` a number, `FR` a text)."""
    import yaml

    field_, sep, values = text.partition("=")
    field_ = field_.strip()
    if not sep or not field_ or not values.strip():
        raise AicomputeError(f"--vary {text!r}: write FIELD=VALUE1,VALUE2 (e.g. site.country=FR,US)")
    try:
        raw = [v.strip() for v in values.split(",")]
        # YAML 1.1 reads NO (Norway), yes, on, off as booleans: only true/false are
        parsed = [v if isinstance(p, bool) and v.lower() not in ("true", "false") else p for v, p in ((v, yaml.safe_load(v)) for v in raw)]
    except yaml.YAMLError:
        raise AicomputeError(f"--vary {text!r}: a value is not a plain number or text") from None
    if any(isinstance(v, (dict, list)) or v is None for v in parsed):
        raise AicomputeError(f"--vary {text!r}: a value is empty or not a plain number or text")
    return Variation(field_, parsed)


def _set(doc: Any, parts: list[str], value: Any, where: str) -> None:
    """Set the field at `parts` of `doc` (mappings are created, `*` is every list element)."""
    head, rest = parts[0], parts[1:]
    if isinstance(doc, list):
        if head == "*":
            targets = list(range(len(doc)))
        elif head.isdigit() and int(head) < len(doc):
            targets = [int(head)]
        else:
            raise AicomputeError(f"--vary {where}: {head!r} is not an index of a list of {len(doc)} (or *)")
        for i in targets:
            _set(doc[i], rest, value, where) if rest else doc.__setitem__(i, value)
    elif isinstance(doc, dict):
        if rest:
            doc[head] = doc.get(head) if isinstance(doc.get(head), (dict, list)) else {}
            _set(doc[head], rest, value, where)
        else:
            doc[head] = value
    else:
        raise AicomputeError(f"--vary {where}: {head!r} is inside a value that is not a mapping or list")


def variants(campaigns: list[Campaign], variations: list[Variation]) -> list[tuple[dict[str, Any], Campaign]]:
    """Every campaign under every combination of the variations: (what varied, campaign)."""
    combos = list(itertools.product(*(v.values for v in variations)))
    if len(campaigns) * len(combos) > MAX_VARIANTS:
        raise AicomputeError(f"{len(campaigns) * len(combos):,} variants; a sweep has at most {MAX_VARIANTS:,}")
    out = []
    for campaign in campaigns:
        for combo in combos:
            varied = {v.field: value for v, value in zip(variations, combo)}
            if not varied and "training" not in campaign.inputs:  # the file as read (a folder's campaigns)
                out.append(({"campaign": campaign.name}, campaign))
                continue
            doc = copy.deepcopy(campaign.inputs)
            serving = doc.pop("training", None) is not None  # a serving file: its own fields vary
            for name, value in varied.items():
                if serving and name.split(".")[0] == "training":
                    raise AicomputeError(f"--vary {name}: {campaign.path} is a serving file; vary the training campaign file it serves")
                _set(doc, name.split("."), value, f"{name}={value}")
            try:
                parsed = (parse_serving if serving else parse_campaign)(doc, campaign.path or campaign.name)
            except AicomputeError as exc:
                label = ", ".join(f"{k}={v}" for k, v in varied.items())
                raise AicomputeError(f"variant {label} of campaign {campaign.name!r}: {exc}") from None
            out.append(({"campaign": campaign.name, **varied}, parsed))
    return out


def read_campaigns(paths: list[str | Path]) -> list[Campaign]:
    """The campaigns of files and folders (a folder: its .yaml, .yml and .xlsx files, sorted)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in (".yaml", ".yml", ".xlsx") and not f.name.startswith((".", "~$")))
            if not found:
                raise AicomputeError(f"{p}: no campaign file (.yaml, .yml, .xlsx) in this folder")
            files += found
        else:
            files.append(p)
    campaigns = [read_campaign(f) for f in files]
    names = collections.Counter(c.name for c in campaigns)
    for c in campaigns:
        if names[c.name] > 1:
            raise AicomputeError(f"{c.path}: campaign name {c.name!r} is used by another file of the sweep")
    return campaigns


@dataclass
class Sweep:
    """Totals of every variant.

    Attributes
    ----------
    name, database : str
        The sweep and its Brightway database.
    table : DataFrame
        One row per variant: `campaign`, the varied fields, `gpu_hours`, `it_energy_kwh` (kWh)
        and one column per indicator (units in `units`).
    units : dict
        Indicator -> unit of its method.
    """

    name: str
    database: str
    table: pd.DataFrame
    units: dict[str, str]

    def to_dict(self) -> dict:
        """The JSON document of `aicompute sweep --json`."""
        return {"sweep": self.name, "database": self.database, "units": self.units, "variants": self.table.to_dict(orient="records")}

    def to_json(self, path: str | Path) -> None:
        """Write `to_dict()` as JSON."""
        write_json(output_path(path), self.to_dict())

    def total(self) -> pd.Series:
        """The sum over the rows of GPU-hours, IT energy and every indicator: the footprint of
        a centre when the rows are its groups (`from-slurm --by`), not of alternative variants."""
        columns = ["gpu_hours", "it_energy_kwh", *(c for c in self.units if c in self.table.columns)]
        return self.table[columns].sum()

    def with_total(self) -> pd.DataFrame:
        """The table and a last row, the total of its rows (`total`)."""
        row = {"campaign": f"total of the {len(self.table)} campaigns", **self.total().to_dict()}
        return pd.concat([self.table, pd.DataFrame([row])], ignore_index=True)

    def to_excel(self, path: str | Path, total: bool = False) -> None:
        """Write the table (sheet `Sweep`, units in the headers; with `total`, a last row that
        sums the rows) and the units (sheet `Units`) as a workbook, laid out as the results
        workbook (`bw_aicompute.excel.layout.lay_out`)."""
        from .excel.layout import lay_out

        headers = self.headers()
        table = self.with_total() if total else self.table

        def write(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                table.rename(columns=headers).to_excel(xw, sheet_name="Sweep", index=False)
                pd.DataFrame({"indicator": list(self.units), "unit": list(self.units.values())}).to_excel(xw, sheet_name="Units", index=False)
                lay_out(xw)

        atomic_write(output_path(path), write)

    def headers(self) -> dict[str, str]:
        """Column -> header with its unit (per-unit columns: `climate per request, serving (kg CO2-Eq)`)."""
        units = {c: u for k, u in self.units.items() for c in self.table.columns if c == k or str(c).startswith(f"{k} per ")}
        return {"gpu_hours": "GPU-hours", "it_energy_kwh": "IT energy (kWh)", **{c: f"{c} ({u})" for c, u in units.items()}}

    def summary(self, total: bool = False) -> str:
        """The table printed by `aicompute sweep` (with `total`, its last row sums the rows)."""
        from .catalog import formatted

        t = (self.with_total() if total else self.table).rename(columns=self.headers())
        return f"Sweep: {self.name}, {len(self.table)} variants (Brightway database {self.database!r})\n" + formatted(t)

    def plot(self, path: str | Path, top: int = 15) -> None:
        """Horizontal bars of every row's footprint, one panel per indicator: the `top` largest
        rows and the others summed (`bw_aicompute.report.plot_rows`); format from the suffix."""
        from .report import plot_rows

        labels = self.table.apply(lambda r: " ".join(str(r[c]) for c in self.table.columns if c not in ("gpu_hours", "it_energy_kwh", *self.units)), axis=1)
        atomic_write(output_path(path), lambda tmp: plot_rows(self.table.assign(label=labels), self.units, tmp, f"{self.name}: footprint of each of the {len(self.table)} campaigns", top))


def sweep_database(campaigns: list[Campaign], name: str | None) -> tuple[str, str]:
    """(sweep name, database): `name`, or the campaign's name when there is one."""
    name = name or (campaigns[0].name if len(campaigns) == 1 else "")
    if not name or not any(ch.isalnum() for ch in name):
        raise AicomputeError("several campaign files: name the sweep with --name")
    return name, SWEEP_DB_PREFIX + slugify(name)


def sweep(
    paths: list[str | Path],
    vary: list[str | Variation] = (),
    indicators: list[str] | tuple[str, ...] = ("climate", "water", "adp_minerals"),
    methods: list[tuple[str, ...]] | tuple = (),
    project: str = "aicompute",
    background: str = "open",
    ecoinvent_database: str | None = None,
    name: str | None = None,
    dask: str | None = None,
    progress: bool = False,
) -> Sweep:
    """Assess every variant of campaigns, written into one database, solved together.

    Parameters
    ----------
    paths : list of str or Path
        Campaign files, or folders of them.
    vary : list of str or Variation
        `FIELD=V1,V2` each (see `parse_vary`); the variants are every combination.
    indicators, methods, project, background, ecoinvent_database
        As for `bw_aicompute.assess`.
    name : str, optional
        The sweep's name (default: the campaign's; required for several files); its database is
        `aicompute-sweep-<name>`, replaced by each run.
    dask : str, optional
        Solve batches of variants on a Dask cluster: a scheduler address, or `local` for a
        `distributed.LocalCluster` (see `bw_aicompute.cluster`).
    progress : bool
        Show progress bars (tqdm, on stderr): setup, the variants composed.

    Returns
    -------
    Sweep
        One row per variant with its totals, in the units of the methods (kg CO2-eq for climate).
    """
    from .assessment import preflight, resolve_all
    from .inventory.templates import files_unchanged
    from .linking import foreground_for
    from .locking import writer_lock
    from .setup import setup_project

    with files_unchanged():  # read the inventory files' signatures once, not per phase
        campaigns = read_campaigns(list(paths))
        chosen = variants(campaigns, [v if isinstance(v, Variation) else parse_vary(v) for v in vary])
    sweep_name, database = sweep_database(campaigns, name)
    preflight(project, methods, background, ecoinvent_database)
    with writer_lock(f"project {project!r}"):
        report = setup_project(project, progress=progress)
        resolved = resolve_all(indicators, methods)
        foreground = foreground_for(background, ecoinvent_database)
        database += "" if foreground == "aicompute" else "--" + foreground.removeprefix("aicompute-linked-")
        models = _write(chosen, database, report.biosphere, foreground, progress)
    serving = [m for m in models if m.serving]
    scores = _solve([m.key for m in models] + [m.serving.key for m in serving], [m for _, m in resolved], project, dask)
    labels = [lab for lab, _ in resolved]
    served = dict(zip((id(m) for m in serving), scores[len(models):]))
    rows = [{**varied, "gpu_hours": sum(p.gpu_hours for p in m.phases), "it_energy_kwh": sum(p.it_energy_kwh for p in m.phases), **dict(zip(labels, s)), **_per_unit(m, labels, s, served.get(id(m)))} for (varied, _), m, s in zip(chosen, models, scores)]
    units = {lab: _unit(m) for lab, m in resolved}
    return Sweep(name=sweep_name, database=database, table=pd.DataFrame(rows), units=units)


def _per_unit(model: CampaignModel, labels: list[str], training: list[float], serving: list[float] | None) -> dict[str, float]:
    """With a deployment: each indicator per functional unit, serving alone and with the training
    amortised (as `bw_aicompute.assessment.per_unit`, in the deployment's unit)."""
    if serving is None:
        return {}
    from .assessment import serving_and_amortised

    d = model.campaign.deployment
    out = {}
    for lab, t, s in zip(labels, training, serving):
        each, amortised = serving_and_amortised(s, t, d.units_served, d.amortise_over(d.unit))
        out[f"{lab} per {d.unit}, serving"], out[f"{lab} per {d.unit}, with training"] = each, amortised
    return out


def _unit(method: tuple) -> str:
    import bw2data as bd

    return bd.methods[method].get("unit", "")


def _write(chosen: list[tuple[dict, Campaign]], database: str, biosphere: str, foreground: str, progress: bool = False):
    """Write the variants (named after what varied) into `database`."""
    import dataclasses

    from .campaign.write import write_campaigns
    from .inventory.templates import files_unchanged

    named = []
    for varied, campaign in chosen:
        label = ", ".join(f"{k}={v}" for k, v in varied.items() if k != "campaign")
        named.append(dataclasses.replace(campaign, name=f"{campaign.name} [{label}]" if label else campaign.name))
    with files_unchanged():  # the inventory files' signatures read once, not per phase
        return write_campaigns(named, database, biosphere, foreground, progress)


def _solve(keys: list[tuple[str, str]], methods: list[tuple], project: str, dask: str | None) -> list[list[float]]:
    """Scores of one unit of each activity `keys` on `methods`: solved together (`lca.multi_scores`), or batches on a
    Dask cluster."""
    if dask:
        from .cluster import score_on_cluster

        return score_on_cluster(dask, project, keys, methods)
    from .lca import score_keys

    return score_keys(keys, methods)
