"""Uncertainty distributions: the `uncertainty:` mapping of the inventory files, the
stats_arrays fields Brightway stores (`uncertainty type`, `loc`, `scale`, `minimum`,
`maximum`), their description, and sampling. The only place that knows the type codes.

Every distribution has its median at the default (the evidence median of the inventories), so
that the deterministic result sits in the middle of the Monte Carlo band: a lognormal's median
and a normal's mean are the amount; a uniform's range must be centred on it; a triangular's
mode and a beta's shape are solved from the range so that the median is the amount.

Reference: stats_arrays (Mutel, https://stats-arrays.readthedocs.io): lognormal 2 (loc = ln of
the median, scale = ln of the geometric standard deviation), normal 3, uniform 4, triangular 5
(loc = mode), beta 10 (loc = alpha, shape = beta, on [minimum, maximum]); the PERT form of the
beta distribution (alpha + beta = 6; Malcolm et al. 1959, Operations Research 7(5)) where the
median allows it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import Where

#: stats_arrays type ids of the distributions the inventories use.
TYPES = {"lognormal": 2, "normal": 3, "uniform": 4, "triangular": 5, "beta": 10}
NAMES = {v: k for k, v in TYPES.items()}
#: The stats_arrays fields of an uncertain exchange or parameter.
FIELDS = ("uncertainty type", "loc", "scale", "shape", "minimum", "maximum")


def triangular_mode(lo: float, hi: float, median: float) -> float | None:
    """The mode of the triangular distribution on [lo, hi] whose median is `median`, or None
    where none has it (a triangular's median lies within 29.3-70.7 % of its range)."""
    width = hi - lo
    q = (median - lo) / width
    mode = lo + 2 * q * q * width if q >= 0.5 else hi - 2 * (1 - q) ** 2 * width
    return mode if lo <= mode <= hi else None


def _beta_median(a: float, b: float) -> float:
    from scipy.special import betaincinv

    return float(betaincinv(a, b, 0.5))


def beta_shape(q: float) -> tuple[float, float]:
    """(alpha, beta) of a beta distribution on [0, 1] whose median is `q` (0 < q < 1): the
    PERT form (alpha = 1 + 4 m, beta = 1 + 4 (1 - m), m the mode) solved for the median where
    it reaches (12.9-87.1 %), else a power distribution (alpha or beta 1) with that median."""
    low, high = _beta_median(1, 5), _beta_median(5, 1)
    if q > high:
        return math.log(0.5) / math.log(q), 1.0
    if q < low:
        return 1.0, math.log(0.5) / math.log(1 - q)
    a, b = 0.0, 1.0
    for _ in range(60):  # bisection on the mode: the median grows with it
        m = (a + b) / 2
        a, b = (m, b) if _beta_median(1 + 4 * m, 5 - 4 * m) < q else (a, m)
    m = (a + b) / 2
    return 1 + 4 * m, 5 - 4 * m


def to_fields(spec: dict | None, amount: float, where: Where) -> dict:
    """stats_arrays fields for an `uncertainty:` mapping of the inventory files.

    Parameters
    ----------
    spec : dict or None
        `{type: lognormal, gsd: G}`, `{type: normal, sd: S}` or `{type: uniform|triangular,
        minimum: A, maximum: B}`, with an optional `source`.
    amount : float
        The default value: the median of the distribution (see the module's docstring).
    where : Where
        Where the mapping sits, for error messages.
    """
    if not spec:
        return {}
    kind = spec.get("type")
    if kind not in TYPES:
        raise where.error(f"uncertainty type {kind!r} unknown; use one of {sorted(TYPES)}", field="uncertainty")
    out: dict[str, Any] = {"uncertainty type": TYPES[kind]}
    try:
        if kind == "lognormal":
            if amount <= 0 or float(spec["gsd"]) <= 1:
                raise where.error("lognormal needs a positive amount and gsd > 1", field="uncertainty")
            out.update(loc=math.log(amount), scale=math.log(float(spec["gsd"])))
        elif kind == "normal":
            out.update(loc=amount, scale=float(spec["sd"]))
        else:
            lo, hi = float(spec["minimum"]), float(spec["maximum"])
            if not lo <= amount <= hi or lo == hi:
                raise where.error(f"{kind} range [{lo}, {hi}] must contain the amount {amount} and not be empty", field="uncertainty")
            out.update(_bounded(kind, lo, hi, amount, where))
    except (KeyError, TypeError, ValueError) as exc:
        what = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        raise where.error(f"{kind} uncertainty needs {what!r}", field="uncertainty") from None
    if spec.get("source"):
        out["uncertainty source"] = spec["source"]
    return out


def _bounded(kind: str, lo: float, hi: float, amount: float, where: Where) -> dict:
    """The fields of a uniform, triangular or beta distribution on [lo, hi] with its median at
    `amount` (an error where the family cannot have it)."""
    out: dict[str, Any] = {"minimum": lo, "maximum": hi}
    q = (amount - lo) / (hi - lo)
    if kind == "uniform":
        if abs(q - 0.5) > 1e-6:
            raise where.error(f"uniform [{lo:g}, {hi:g}] has its median at {(lo + hi) / 2:g}, not at the amount {amount:g}: centre the range on the amount, or use type beta (median at the amount)", field="uncertainty")
        return {**out, "loc": amount}
    if kind == "triangular":
        mode = triangular_mode(lo, hi, amount)
        if mode is None:
            raise where.error(f"no triangular distribution on [{lo:g}, {hi:g}] has its median at the amount {amount:g} (it must lie within 29-71 % of the range): use type beta (median at the amount)", field="uncertainty")
        return {**out, "loc": mode}
    if not 0 < q < 1:
        raise where.error(f"beta [{lo:g}, {hi:g}] needs the amount {amount:g} strictly inside the range", field="uncertainty")
    alpha, beta = beta_shape(q)
    return {**out, "loc": alpha, "shape": beta}


def median(fields: dict, amount: float) -> float:
    """The median of the distribution of stats_arrays `fields` (the amount where there is none)."""
    kind = fields.get("uncertainty type", 0)
    if kind == 2:
        return math.exp(fields["loc"])
    if kind == 3:
        return fields["loc"]
    if kind == 4:
        return (fields["minimum"] + fields["maximum"]) / 2
    if kind == 5:
        lo, hi, c = fields["minimum"], fields["maximum"], fields["loc"]
        return lo + math.sqrt((hi - lo) * (c - lo) / 2) if c >= (lo + hi) / 2 else hi - math.sqrt((hi - lo) * (hi - c) / 2)
    if kind == 10:
        return fields["minimum"] + (fields["maximum"] - fields["minimum"]) * _beta_median(fields["loc"], fields["shape"])
    return amount


def to_spec(fields: dict) -> dict | None:
    """The `uncertainty:` mapping of stats_arrays fields (inverse of `to_fields`: a triangular's
    mode and a beta's shape are derived again from the range and the amount), or None."""
    kind = fields.get("uncertainty type")
    if kind in (None, "", 0, 1):
        return None
    try:
        kind = int(kind)
    except (TypeError, ValueError):
        return {"type": str(kind)[:40]}
    if kind not in NAMES:
        return {"type": f"stats_arrays id {kind}"}
    spec: dict[str, Any] = {"type": NAMES[kind]}
    if kind == 2:
        spec["gsd"] = math.exp(float(fields.get("scale") or 0))
    elif kind == 3:
        spec["sd"] = fields.get("scale")
    else:
        spec.update(minimum=fields.get("minimum"), maximum=fields.get("maximum"))
    if fields.get("uncertainty source"):
        spec["source"] = fields["uncertainty source"]
    return spec


def as_olca(fields: dict, amount: float) -> dict | None:
    """stats_arrays fields as the fields of an openLCA `Uncertainty` (olca-schema names), or
    None where there is no distribution. A triangular's mode is `loc`; openLCA has no beta
    distribution: a beta is written as the triangular of the same range and median where one
    exists, else as the triangular of that range whose median is nearest (its mode at the
    bound; an approximation)."""
    kind = fields.get("uncertainty type")
    if kind not in NAMES:
        return None
    if kind == 2:
        return {"distribution_type": "LOG_NORMAL_DISTRIBUTION", "geom_mean": math.exp(float(fields["loc"])), "geom_sd": math.exp(float(fields["scale"]))}
    if kind == 3:
        return {"distribution_type": "NORMAL_DISTRIBUTION", "mean": float(fields.get("loc", amount)), "sd": float(fields["scale"])}
    out = {"minimum": float(fields["minimum"]), "maximum": float(fields["maximum"])}
    if kind == 10:
        lo, hi, m = out["minimum"], out["maximum"], median(fields, amount)
        mode = triangular_mode(lo, hi, m)
        if mode is None:  # the triangle whose median is nearest: its mode at the bound
            mode = hi if m > (lo + hi) / 2 else lo
        return {"distribution_type": "TRIANGLE_DISTRIBUTION", "mode": mode, **out}
    if kind == 4:
        return {"distribution_type": "UNIFORM_DISTRIBUTION", **out}
    return {"distribution_type": "TRIANGLE_DISTRIBUTION", "mode": float(fields.get("loc", amount)), **out}


def describe(fields: dict) -> str:
    """A short text for stats_arrays fields: `uniform [3, 6]`, `lognormal (GSD 1.2)`, or ''."""
    name = NAMES.get(fields.get("uncertainty type", 0), "")
    if name and "minimum" in fields:
        return f"{name} [{fields['minimum']:.4g}, {fields['maximum']:.4g}]"
    if name == "lognormal":
        return f"{name} (GSD {math.exp(fields['scale']):.3g})"
    if name == "normal":
        return f"{name} (sd {fields['scale']:.4g})"
    return name


def sample(fields: dict, amount: float, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """`n` draws of the distribution of stats_arrays `fields` (None if it has none).

    The triangular mode is `loc`, else the static `amount`.
    """
    kind = fields.get("uncertainty type", 0)
    if kind == 2:
        return np.exp(rng.normal(fields["loc"], fields["scale"], n))
    if kind == 3:
        return rng.normal(fields["loc"], fields["scale"], n)
    if kind == 4:
        return rng.uniform(fields["minimum"], fields["maximum"], n)
    if kind == 5:
        return rng.triangular(fields["minimum"], fields.get("loc", amount), fields["maximum"], n)
    if kind == 10:
        return fields["minimum"] + (fields["maximum"] - fields["minimum"]) * rng.beta(fields["loc"], fields["shape"], n)
    return None
