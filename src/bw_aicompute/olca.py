"""openLCA export: Brightway databases as an openLCA JSON-LD package (a zip), written with the
`olca-schema` library (GreenDelta, MPL-2.0).

Each activity becomes a process with its product flow, exchanges (amounts, formulas, units and
flow properties, uncertainty, default providers) and its comment; each elementary flow keeps its
ecoinvent UUID (the Brightway `code`), so that openLCA's ecoinvent and EF reference flows match
it; database parameters become global parameters (formulas in openLCA's syntax). Units are
openLCA's reference unit groups and flow properties (`inventories/olca/units.yaml`: mass, energy,
volume... with their standard UUIDs), so kWh and MJ convert and our flows meet the same flows of
another database in the same flow property; a unit without a reference group gets a group of its
own. The indicators' methods are an impact method, `bw_aicompute indicators`, with one impact
category and its factors per indicator.

Reference: openLCA schema 2 (https://greendelta.github.io/olca-schema/).
"""

from __future__ import annotations

import functools
import re
import uuid
from pathlib import Path


from . import distributions
from ._resources import atomic_write, data_dir
from .errors import AicomputeError
from .yamlfile import load_data

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
        """(flow property, unit) of a Brightway unit name: openLCA's reference ones where
        `inventories/olca/units.yaml` maps the unit, else a unit group of its own."""
        if name not in self.properties:
            ref = reference_units()["units"].get(name)
            self.properties[name] = self._reference(*ref) if ref else self._own(name)
        return self.properties[name]

    def _reference(self, unit_name: str, prop_name: str) -> tuple:
        o, ref = self.o, reference_units()
        p = ref["flow_properties"][prop_name]
        g = ref["unit_groups"][p["unit_group"]]
        units = [o.Unit(id=u["id"], name=u["name"], conversion_factor=float(u["factor"]), is_ref_unit=bool(u.get("reference")), description=u.get("description")) for u in g["units"]]
        group = o.UnitGroup(id=g["id"], name=p["unit_group"], category=g["category"], units=units)
        prop = o.FlowProperty(id=p["id"], name=prop_name, category=p["category"], flow_property_type=o.FlowPropertyType[p["type"]])
        group.default_flow_property = o.Ref(id=ref["flow_properties"][g["default_flow_property"]]["id"], name=g["default_flow_property"], ref_type=o.RefType.FlowProperty)
        prop.unit_group = o.as_ref(group)
        self.add(group)
        return self.add(prop), next(u for u in units if u.name == unit_name)

    def _own(self, name: str) -> tuple:
        o = self.o
        unit = o.new_unit(name)
        unit.id = _id("unit", name)
        group = o.new_unit_group(f"Units of {name}", unit)
        group.id = _id("unit group", name)
        group.description = "bw_aicompute: no reference unit group of openLCA holds this unit"
        prop = o.new_flow_property(f"Quantity in {name}", group)
        prop.id = _id("flow property", name)
        group.category = prop.category = "bw_aicompute units"
        prop.flow_property_type = o.FlowPropertyType.PHYSICAL_QUANTITY
        group.default_flow_property = o.as_ref(prop)
        self.add(group)
        return self.add(prop), unit

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
            flow.category = node["database"]
        flow.is_infrastructure_flow = False
        flow.location = self.location(None if elementary else node.get("location"))
        ref = o.as_ref(self.add(flow))
        ref.flow_type = flow.flow_type  # as openLCA writes a flow's reference (bw2io reads it)
        return ref

    def process(self, ds) -> None:
        """The process of an activity, with its exchanges."""
        o = self.o
        proc = o.new_process(ds["name"])
        proc.id = _id("process", ds["database"], ds["code"])
        proc.process_type = o.ProcessType.UNIT_PROCESS
        proc.description = ds.get("comment") or ""
        proc.location = self.location(ds.get("location"))
        proc.category = ds["database"]
        proc.is_infrastructure_process = False
        proc.process_documentation = self.documentation(ds)
        for exc in ds.exchanges():
            self.exchange(proc, exc)
        self.add(proc)

    def documentation(self, ds):
        """What openLCA shows in a process's modelling and administrative tabs: licence and use."""
        import bw2data as bd

        licence = bd.databases[ds["database"]].get("license") or "see the database that holds it"
        return self.o.ProcessDocumentation(
            is_copyright_protected=False,
            restrictions_description=f"Licence: {licence}. Sources: the description of each exchange.",
            use_advice=f"Written by bw_aicompute from the Brightway database {ds['database']!r}; amounts as written there, formulas in openLCA's syntax.",
        )

    def exchange(self, proc, exc) -> None:
        """One Brightway exchange added to `proc`."""
        o, node, kind = self.o, exc.input, exc["type"]
        elementary = kind == "biosphere"
        flow = self.flow(node, elementary=elementary)
        prop, unit = self.unit(node.get("unit") or "unit")
        e = o.new_exchange(proc, flow, float(exc["amount"]), unit)
        e.flow_property = o.as_ref(prop)
        if exc.get("formula"):
            e.amount_formula = olca_formula(exc["formula"])
        e.description = exc.get("comment") or exc.get("source") or ""
        e.is_quantitative_reference = kind == "production"
        e.is_avoided_product = False
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


@functools.lru_cache(maxsize=1)
def reference_units() -> dict:
    """`inventories/olca/units.yaml`: Brightway unit name -> (openLCA unit, flow property), and
    the flow properties and unit groups by name."""
    doc = load_data((data_dir("inventories") / "olca" / "units.yaml").read_text(encoding="utf-8"))
    return {"units": {u["brightway"]: (u["openlca"], u["flow_property"]) for u in doc["units"]}, "flow_properties": doc["flow_properties"], "unit_groups": doc["unit_groups"]}


def _methods(pkg: _Package, indicators: list) -> None:
    """The indicators' methods as one impact method with an impact category per indicator."""
    import bw2data as bd

    o = pkg.o
    refs = []
    for ind in indicators:
        cat = o.ImpactCategory(id=_id("impact category", *ind.method), name=" | ".join(ind.method), ref_unit=bd.methods[ind.method].get("unit", ""))
        cat.description = f"bw_aicompute indicator {ind.name}: {ind.description}"
        cat.impact_factors = []
        for key, cf in bd.Method(ind.method).load():
            node = bd.get_node(id=key)
            prop, unit = pkg.unit(node.get("unit") or "unit")
            value = float(cf["amount"] if isinstance(cf, dict) else cf)
            cat.impact_factors.append(o.ImpactFactor(flow=pkg.flow(node, elementary=True), flow_property=o.as_ref(prop), unit=o.as_ref(unit), value=value))
        refs.append(o.as_ref(pkg.add(cat)))
    method = o.ImpactMethod(id=_id("impact method", "bw_aicompute indicators"), name="bw_aicompute indicators", impact_categories=refs)
    method.description = "The indicators of bw_aicompute (methods/indicators.yaml), as installed by aicompute setup"
    pkg.add(method)


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

    from .methods import indicators

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
    _methods(pkg, [i for i in indicators().values() if i.method in bd.methods])

    def write(tmp: Path) -> None:
        writer = zipio.ZipWriter(str(tmp))
        try:
            for entity in pkg.entities.values():
                writer.write(entity)
        finally:
            writer.close()

    atomic_write(path, write)
    kinds = [type(e).__name__ for e in pkg.entities.values()]
    return {"processes": kinds.count("Process"), "flows": kinds.count("Flow"), "parameters": kinds.count("Parameter"), "impact categories": kinds.count("ImpactCategory"),
            "exchanges": sum(len(e.exchanges or []) for e in pkg.entities.values() if type(e).__name__ == "Process")}
