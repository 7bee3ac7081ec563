"""Comparing campaigns side by side: totals and life-cycle stages of two or more campaign files,
with absolute and relative differences from the first, and the uncertainty of the differences
from paired Monte Carlo samples (every shared input drawn once per iteration for all of them).

The campaigns are written into one database, `aicompute-compare-<first campaign>`, so that files
of the same campaign name (a campaign and its edited copy) can be compared.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._resources import atomic_write, output_path, write_json
from .campaign import STAGES, read_campaign
from .campaign.schema import slugify
from .errors import AicomputeError

COMPARE_DB_PREFIX = "aicompute-compare-"


@dataclass
class Comparison:
    """Campaigns side by side.

    Attributes
    ----------
    labels : list of str
        The campaigns (their names, or file names where names repeat), the first the reference.
    table : DataFrame
        indicator, unit, item (`total` or a stage), one column per campaign, and per other
        campaign `<label> - <first>` and `<label> / <first> - 1` (a share).
    uncertainty : DataFrame or None
        With iterations: indicator, unit, campaign, and the percentiles (2.5, 50, 97.5) of its
        paired difference from the first, and the share of iterations in which it is higher.
    iterations, seed : int
    intervals : DataFrame or None
        With iterations: the 2.5 and 97.5 percentiles of each campaign's total.
    """

    labels: list[str]
    table: pd.DataFrame
    uncertainty: pd.DataFrame | None = None
    iterations: int = 0
    seed: int = 0
    intervals: pd.DataFrame | None = None  # indicator, campaign, p2_5, p97_5 of each total

    def to_dict(self) -> dict:
        """The JSON document of `aicompute compare --json`."""
        out = {"campaigns": self.labels, "rows": self.table.to_dict(orient="records")}
        if self.uncertainty is not None:
            out["uncertainty"] = {"iterations": self.iterations, "seed": self.seed, "rows": self.uncertainty.to_dict(orient="records")}
        return out

    def to_json(self, path: str | Path) -> None:
        """Write `to_dict()` as JSON."""
        write_json(output_path(path), self.to_dict())

    def to_excel(self, path: str | Path) -> None:
        """Write sheets `Comparison` and (with iterations) `Uncertainty of differences`, laid out
        as the results workbook (`bw_aicompute.excel.layout.lay_out`)."""
        from .excel.layout import lay_out

        def write(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                self.table.to_excel(xw, sheet_name="Comparison", index=False)
                if self.uncertainty is not None:
                    self.uncertainty.to_excel(xw, sheet_name="Uncertainty of differences", index=False)
                lay_out(xw)

        atomic_write(output_path(path), write)

    def summary(self) -> str:
        """The text printed by `aicompute compare`: campaigns as letters A, B... (A the
        reference), relative differences in per cent."""
        from .catalog import formatted

        letters = [chr(ord("A") + k) for k in range(len(self.labels))]
        lines = [f"Comparison of {len(self.labels)} campaigns; differences from A", *(f"  {x} = {lab}" for x, lab in zip(letters, self.labels)), ""]
        for (indicator, unit), rows in self.table.groupby(["indicator", "unit"], sort=False):
            shown = pd.DataFrame({"item": rows["item"], **{x: rows[lab] for x, lab in zip(letters, self.labels)}})
            for x, lab in zip(letters[1:], self.labels[1:]):
                shown[f"{x} - A"] = rows[f"{lab} - {self.labels[0]}"]
                shown[f"{x} vs A"] = rows[f"{lab} / {self.labels[0]} - 1"].map(lambda v: "" if v != v else f"{v:+.1%}")
            lines += [f"{indicator} ({unit})", formatted(shown), ""]
        if self.uncertainty is not None:
            u = self.uncertainty.copy()
            u["campaign"] = u["campaign"].map(dict(zip(self.labels, letters)))
            u["share higher"] = u["share higher"].map(lambda v: f"{v:.0%}")
            lines.append(f"Uncertainty of the differences from A: {self.iterations} paired iterations, seed {self.seed}")
            lines.append(formatted(u.rename(columns={"campaign": "vs A"})))
        return "\n".join(lines).rstrip()

    def plot(self, path: str | Path) -> None:
        """Bars by stage per campaign, one panel per indicator, with the 95 % interval of the
        total when iterations were run (PNG, SVG or PDF from the suffix)."""
        from .report import plot_comparison

        atomic_write(output_path(path), lambda tmp: plot_comparison(self, tmp))


def _labels(campaigns) -> list[str]:
    names = [c.name for c in campaigns]
    return names if len(set(names)) == len(names) else [f"{c.name} ({Path(c.path).name})" for c in campaigns]


def _table(labels: list[str], results: list) -> pd.DataFrame:
    """The side-by-side table of deterministic results (`Assessment` each)."""
    rows = []
    for t in results[0].totals.itertuples():
        stages = [r.by_stage()[t.indicator] for r in results]
        for item in ("total", *STAGES):
            values = [float(r.totals.set_index("indicator").loc[t.indicator, "value"]) if item == "total" else float(s.get(item, 0.0)) for r, s in zip(results, stages)]
            row = {"indicator": t.indicator, "unit": t.unit, "item": item, **dict(zip(labels, values))}
            for label, v in zip(labels[1:], values[1:]):
                row[f"{label} - {labels[0]}"] = v - values[0]
                row[f"{label} / {labels[0]} - 1"] = v / values[0] - 1 if values[0] else float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def _intervals(labels: list[str], resolved, draws: np.ndarray) -> pd.DataFrame:
    """2.5 and 97.5 percentiles of each campaign's total."""
    rows = []
    for j, (label_i, _) in enumerate(resolved):
        for k, label in enumerate(labels):
            lo, hi = np.percentile(draws[:, k, j], [2.5, 97.5])
            rows.append({"indicator": label_i, "campaign": label, "p2_5": lo, "p97_5": hi})
    return pd.DataFrame(rows)


def _paired(labels: list[str], resolved, units: dict, draws: np.ndarray) -> pd.DataFrame:
    """Percentiles of each campaign's paired difference from the first."""
    rows = []
    for j, (label_i, _) in enumerate(resolved):
        for k, label in enumerate(labels[1:], start=1):
            d = draws[:, k, j] - draws[:, 0, j]
            p = np.percentile(d, [2.5, 50, 97.5])
            rows.append({"indicator": label_i, "unit": units[label_i], "campaign": label, "difference p2_5": p[0], "difference p50": p[1], "difference p97_5": p[2], "share higher": float((d > 0).mean())})
    return pd.DataFrame(rows)


def compare(
    paths: list[str | Path], indicators=("climate", "water", "adp_minerals"), methods=(), project: str = "aicompute", iterations: int = 0, seed: int = 0,
    background: str = "open", ecoinvent_database: str | None = None,
) -> Comparison:
    """Assess campaign files side by side.

    Parameters
    ----------
    paths : list of str or Path
        Two or more campaign files; the first is the reference of the differences.
    indicators, methods, project
        As for `bw_aicompute.assess`.
    iterations, seed : int
        Paired Monte Carlo iterations for the uncertainty of the differences (0: none).
    background, ecoinvent_database : str
        As for `bw_aicompute.assess`: 'ecoinvent' writes the campaigns against the foreground
        linked by `aicompute link-ecoinvent`.

    Returns
    -------
    Comparison
        Values in the units of the methods (kg CO2-eq for climate); relative differences as
        shares (0.25 = +25 %).
    """
    from .assessment import preflight, resolve_all, solve
    from .campaign.write import write_campaigns
    from .linking import foreground_for
    from .locking import writer_lock
    from .setup import setup_project
    from .uncertainty import paired_totals

    if len(paths) < 2:
        raise AicomputeError("compare needs two campaign files or more")
    campaigns = [read_campaign(p) for p in paths]
    labels = _labels(campaigns)
    preflight(project, methods, background, ecoinvent_database)
    with writer_lock(f"project {project!r}"):
        report = setup_project(project)
        resolved = resolve_all(indicators, methods)
        foreground = foreground_for(background, ecoinvent_database)
        named = [dataclasses.replace(c, name=label) for c, label in zip(campaigns, labels)]
        models = write_campaigns(named, COMPARE_DB_PREFIX + slugify(campaigns[0].name), report.biosphere, foreground)
    results = [solve(m, resolved) for m in models]
    table = _table(labels, results)
    units = dict(zip(results[0].totals["indicator"], results[0].totals["unit"]))
    if not iterations:
        return Comparison(labels, table)
    draws = paired_totals(models, resolved, iterations, seed)
    return Comparison(labels, table, _paired(labels, resolved, units, draws), iterations, seed, _intervals(labels, resolved, draws))
