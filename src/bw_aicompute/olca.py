"""openLCA export: Brightway databases as an openLCA JSON-LD package (a zip), written with the
`olca-schema` library (GreenDelta, MPL-2.0).

Each activity becomes a process with its product flow, exchanges (amounts, formulas, units,
uncertainty, default providers) and its comment; each elementary flow keeps its ecoinvent UUID
(the Brightway `code`), so that openLCA's ecoinvent and EF reference flows match it; database
parameters become global parameters (formulas in openLCA's syntax). Units get a unit group and
flow property of their own (ids derived from the unit name), since Brightway stores units as
names only.

Reference: openLCA schema 2 (https://greendelta.github.io/olca-schema/).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from . import distributions
from ._resources import atomic_write
from .errors import AicomputeError

NAMESPACE = uuid.UUID("4f1f62a1-77b2-4b0c-9a57-7f4f0c2c9b53")  # bw_aicompute's namespace for ids


def _id(*parts: str) -> str:
    """A stable UUID for an entity that has none in Brightway."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def olca_formula(formula: str) -> str:
    """A Brightway (Python) formula in openLCA's syntax: `**` -> `^`, `log` -> `ln`, `pi` as a
    number (openLCA's interpreter has no such constant)."""
    text = formula.replace("**", "^")
    text = re.sub(r"\blog\(", "ln(", text)
    return re.sub(r"\bpi\b", "3.141592653589793", text)


class _Package:
    """The entities of one export, created once each."""

    def __init__(self, olca):
        self.o = olca
        self.entities: dict[str, object] = {}
        self.properties: dict[str, tuple] = {}

    def add(self, entity) -> object:
        """Keep `entity` (once per id) and return the kept one."""
        self.entities.setdefault(entity.id, entity)
        return self.entities[entity.id]

    def unit(self, name: str) -> tuple:
        """(flow property, unit) of a Brightway unit name."""
        if name not in self.properties:
            o = self.o
            unit = o.new_unit(name)
            unit.id = _id("unit", name)
            group = o.new_unit_group(f"Units of {name}", unit)
            group.id = _id("unit group", name)
            prop = o.new_flow_property(f"Quantity in {name}", group)
            prop.id = _id("flow property", name)
            self.add(group), self.add(prop)
            self.properties[name] = (prop, unit)
        return self.properties[name]

    def location(self, code: str | None):
        """A reference to the location `code` (None for none)."""
        if not code:
            return None
        loc = self.o.new_location(code, code)
        loc.id = _id("location", code)
        return self.o.as_ref(self.add(loc))

    def flow(self, node, elementary: bool):
        """The flow of a biosphere node (its own UUID) or the product flow of an activity."""
        o = self.o
        prop, _ = self.unit(node.get("unit") or "unit")
        if elementary:
            flow = o.new_elementary_flow(node["name"], prop)
            flow.id = node["code"]
            flow.category = "Elementary flows/" + "/".join(node.get("categories") or ())
        else:
            flow = o.new_product(node.get("reference product") or node["name"], prop)
            flow.id = _id("product", node["database"], node["code"])
        flow.location = self.location(None if elementary else node.get("location"))
        return o.as_ref(self.add(flow))

    def process(self, ds) -> None:
        """The process of an activity, with its exchanges."""
        o = self.o
        proc = o.new_process(ds["name"])
        proc.id = _id("process", ds["database"], ds["code"])
        proc.process_type = o.ProcessType.UNIT_PROCESS
        proc.description = ds.get("comment") or ""
        proc.location = self.location(ds.get("location"))
        proc.category = ds["database"]
        for exc in ds.exchanges():
            self.exchange(proc, exc)
        self.add(proc)

    def exchange(self, proc, exc) -> None:
        """One Brightway exchange added to `proc`."""
        o, node, kind = self.o, exc.input, exc["type"]
        elementary = kind == "biosphere"
        flow = self.flow(node, elementary=elementary)
        _, unit = self.unit(node.get("unit") or "unit")
        e = o.new_exchange(proc, flow, float(exc["amount"]), unit)
        if exc.get("formula"):
            e.amount_formula = olca_formula(exc["formula"])
        e.description = exc.get("comment") or exc.get("source") or ""
        e.is_quantitative_reference = kind == "production"
        e.is_input = kind == "technosphere" or (elementary and (node.get("categories") or ("",))[0] == "natural resource")
        if kind == "technosphere":
            e.default_provider = o.Ref(id=_id("process", node["database"], node["code"]), name=node["name"], ref_type=o.RefType.Process)
        e.uncertainty = self.uncertainty(dict(exc), float(exc["amount"]))

    def uncertainty(self, fields: dict, amount: float):
        """The openLCA uncertainty of stats_arrays fields, or None."""
        unc = distributions.as_olca(fields, amount)
        return self.o.Uncertainty(**{**unc, "distribution_type": self.o.UncertaintyType[unc["distribution_type"]]}) if unc else None

    def parameters(self, database: str) -> None:
        """The database parameters of `database` as global parameters; a name already exported
        (from an earlier database) is kept as it is: openLCA's global names are unique."""
        from bw2data.parameters import DatabaseParameter

        o = self.o
        exported = {e.name for e in self.entities.values() if isinstance(e, o.Parameter)}
        for p in DatabaseParameter.select().where(DatabaseParameter.database == database):
            if p.name in exported:
                continue
            par = o.Parameter(name=p.name, value=float(p.amount), parameter_scope=o.ParameterScope.GLOBAL_SCOPE)
            par.id = _id("parameter", database, p.name)
            par.description = " ".join(str(p.data.get(k, "")) for k in ("unit", "source") if p.data.get(k))
            par.is_input_parameter = not p.formula
            if p.formula:
                par.formula = olca_formula(p.formula)
            if not p.formula:
                par.uncertainty = self.uncertainty(p.data, float(p.amount))
            self.add(par)


def export_olca(path: Path, databases: list[str]) -> dict[str, int]:
    """Write `databases` of the current project as an openLCA JSON-LD package.

    Parameters
    ----------
    path : Path
        The zip to write (replaced atomically).
    databases : list of str
        Brightway databases whose activities become processes (their suppliers in other
        databases must be listed too for the providers to resolve in openLCA); where two
        define a parameter of the same name, the first one's is exported.

    Returns
    -------
    dict
        Counts of what was written: processes, flows, parameters, exchanges.

    References
    ----------
    openLCA schema 2, JSON-LD package layout (https://greendelta.github.io/olca-schema/), as
    written by `olca_schema.zipio.ZipWriter`.
    """
    import bw2data as bd

    try:
        import olca_schema as o
        from olca_schema import zipio
    except ImportError:  # pragma: no cover - a core dependency
        raise AicomputeError("the openLCA export needs olca-schema: python -m pip install olca-schema") from None
    pkg = _Package(o)
    for name in databases:
        if name not in bd.databases:
            raise AicomputeError(f"database {name!r} is not in project {bd.projects.current!r}")
        for ds in bd.Database(name):
            pkg.process(ds)
        pkg.parameters(name)

    def write(tmp: Path) -> None:
        writer = zipio.ZipWriter(str(tmp))
        try:
            for entity in pkg.entities.values():
                writer.write(entity)
        finally:
            writer.close()

    atomic_write(path, write)
    kinds = [type(e).__name__ for e in pkg.entities.values()]
    return {"processes": kinds.count("Process"), "flows": kinds.count("Flow"), "parameters": kinds.count("Parameter"),
            "exchanges": sum(len(e.exchanges or []) for e in pkg.entities.values() if type(e).__name__ == "Process")}
