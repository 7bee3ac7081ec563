"""Uncertainty distributions: the `uncertainty:` mapping of the inventory files, the
stats_arrays fields Brightway stores (`uncertainty type`, `loc`, `scale`, `minimum`,
`maximum`), their description, and sampling. The only place that knows the type codes.

Reference: stats_arrays (Mutel, https://stats-arrays.readthedocs.io): lognormal 2 (loc = ln of
the median, scale = ln of the geometric standard deviation), normal 3, uniform 4, triangular 5
(loc = mode).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import Where

#: stats_arrays type ids of the distributions the inventories use.
TYPES = {"lognormal": 2, "normal": 3, "uniform": 4, "triangular": 5}
NAMES = {v: k for k, v in TYPES.items()}
#: The stats_arrays fields of an uncertain exchange or parameter.
FIELDS = ("uncertainty type", "loc", "scale", "minimum", "maximum")


def to_fields(spec: dict | None, amount: float, where: Where) -> dict:
    """stats_arrays fields for an `uncertainty:` mapping of the inventory files.

    Parameters
    ----------
    spec : dict or None
        `{type: lognormal, gsd: G}`, `{type: normal, sd: S}` or `{type: uniform|triangular,
        minimum: A, maximum: B}`, with an optional `source`.
    amount : float
        The default value: the median of a lognormal, the mode of a triangular.
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
            out.update(loc=amount, minimum=lo, maximum=hi)
    except (KeyError, TypeError, ValueError) as exc:
        what = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        raise where.error(f"{kind} uncertainty needs {what!r}", field="uncertainty") from None
    if spec.get("source"):
        out["uncertainty source"] = spec["source"]
    return out


def to_spec(fields: dict) -> dict | None:
    """The `uncertainty:` mapping of stats_arrays fields (inverse of `to_fields`), or None."""
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
    None where there is no distribution. Triangular's mode is the amount (`loc`)."""
    kind = fields.get("uncertainty type")
    if kind not in NAMES:
        return None
    if kind == 2:
        return {"distribution_type": "LOG_NORMAL_DISTRIBUTION", "geom_mean": math.exp(float(fields["loc"])), "geom_sd": math.exp(float(fields["scale"]))}
    if kind == 3:
        return {"distribution_type": "NORMAL_DISTRIBUTION", "mean": float(fields.get("loc", amount)), "sd": float(fields["scale"])}
    out = {"minimum": float(fields["minimum"]), "maximum": float(fields["maximum"])}
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
    return None
