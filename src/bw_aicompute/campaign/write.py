"""Writing a validated campaign into a Brightway project, and opening what was written.

A campaign is written as ordinary activities in a database of its own
(`aicompute-campaign-<slug>`): campaign -> phases -> GPU time (embodied shares) and IT energy
(datacenter operation). The GPU-hour model is not restated here: the campaign renders the
templates of `inventories/datacenter.yaml` (`datacenter-operation-{site}` and
`gpu-hour-{gpu}-{site}`), their placeholders filled with the campaign's values (a number where
the file overrides a parameter, the parameter's name otherwise). The GPU-hour template's
exchange to the datacenter operation is the IT energy: a campaign writes it per phase (GPU time
x the same formula, or measured energy), and the rest of the template is the embodied share of
one GPU-hour. Overrides that are input data rather than model (a grid intensity, an embodied
footprint given by a study) are datasets of the campaign.

Amounts are evaluated here and written with their formulas, so that Monte Carlo can resample
the parameters (see `bw_aicompute.uncertainty`). Re-writing a campaign replaces its database
only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re
from pathlib import Path
from typing import Any

import numpy as np

from .._resources import fingerprint
from .._resources import progress as progress_bar
from ..classifications import classified
from ..errors import AicomputeError
from ..inventory import FormulaEvaluator, formula_names, tables, template
from ..inventory.formulas import with_values
from ..inventory.templates import substitute
from ..inventory.validate import InventoryDatabase, comment_with_source
from ..inventory.writer import register_parameters
from ..methods import resolve_indicator
from ..ownership import OWNER_KEY, database_rows, generation, is_complete, owner, refuse_foreign, state, write_owned
from ..project import flow_codes, flow_index
from ..water import LOCATED_DB, own_water, tag, water_to_air_keys
from .read import profiles
from .schema import SCENARIO_TECHNOLOGIES, UNIT_PLURALS, Campaign, CampaignModel, Override, Phase, PhaseModel

#: The templates a campaign renders, and the codes (before substitution) of the providers in
#: them that a campaign treats specially.
DCOP_TEMPLATE = "datacenter-operation-{site}"
GPU_HOUR_TEMPLATE = "gpu-hour-{gpu}-{site}"
GRID_PROVIDER = "electricity-grid-{grid}"
CARD_PROVIDER = "gpu-card-{gpu}"
SERVER_PROVIDER = "server-{server}"
INFRASTRUCTURE_PROVIDER = "datacenter-infrastructure-kw-year"
FUNCTIONAL_UNIT = "campaign"


@dataclass
class _Writer:
    """What writing one campaign needs: the campaign, its database, the foreground it links to,
    the biosphere, the foreground's parameter values, and the datasets written so far."""

    campaign: Campaign
    db: str
    foreground: str
    biosphere: str
    inventories: Path | None
    evaluate: FormulaEvaluator
    parameters: set[str]
    flows: dict
    codes: dict
    data: dict[tuple[str, str], dict] = field(default_factory=dict)
    linked: dict[str, tuple[tuple[str, str], float]] | None = None
    prefix: str = ""  # of the codes, when several campaigns share a database (a sweep)
    water: dict = field(default_factory=dict)  # provider key -> its own Water to air (m3, formula), read once
    aggregated: dict = field(default_factory=dict)  # (dataset, dropped, tags kept) -> its aggregated flows, computed once
    formulas: bool = True  # keep the formulas that name parameters (False: numbers only)
    memo: dict = field(default_factory=dict)  # formula -> value, per-hour energy formulas, ("phase_year", year) -> year: computed once

    @property
    def source(self) -> str:
        c = self.campaign
        return f"campaign file {c.path.name if c.path else c.name}"

    def value(self, formula: str) -> float:
        if formula not in self.memo:
            self.memo[formula] = float(self.evaluate(formula))
        return self.memo[formula]

    def add(self, code: str, name: str, unit: str, exchanges: list[dict], comment: str, location: str = "GLO", **extra) -> tuple[str, str]:
        key = (self.db, self.prefix + code)
        self.data[key] = {
            "name": name,
            "reference product": name.split(",")[0],
            "unit": unit,
            "location": location,
            "comment": comment,
            "exchanges": [{"input": key, "amount": 1.0, "type": "production", "unit": unit}]
            + [{**e, "comment": comment_with_source(e.get("comment"), e.get("source"))} for e in exchanges],
            **extra,
        }
        return key

    def flow(self, name: str, categories: tuple, unit: str) -> tuple[str, str]:
        key = (name, tuple(categories), unit)
        if key not in self.flows:
            raise AicomputeError(f"flow {name!r} {list(categories)} ({unit}) is not in the project's biosphere {self.biosphere!r}")
        return (self.biosphere, self.codes[self.flows[key]])

    def exchange(self, input_: tuple[str, str], kind: str, formula: str, unit: str, source: str, comment: str = "", times: float | None = None) -> dict:
        """An exchange whose amount is `formula` evaluated (`times` it, as the formula
        `(formula) * times`: the same float, without parsing a formula of its own for each of a
        phase's months); the formula is kept where it names a parameter of the foreground."""
        amount = self.value(formula) if times is None else self.value(formula) * times
        exc = {"input": input_, "amount": amount, "type": kind, "unit": unit, "source": source}
        if self.formulas and formula_names(formula) & self.parameters:
            exc["formula"] = formula if times is None else f"({formula}) * {times!r}"
        if comment:
            exc["comment"] = " ".join(str(comment).split())
        return exc

    def provider(self, database: str, code: str) -> tuple[tuple[str, str], float]:
        """The provider of a template's link, and the factor of its amount: in a linked
        foreground, a background provider is replaced as the linked copy replaced it."""
        if database in ("aicompute", self.foreground):
            return (self.foreground, code), 1.0
        if self.foreground == "aicompute":
            return (database, code), 1.0
        if self.linked is None:
            self.linked = linked_providers(self.foreground)
        return self.linked.get(f"{database}:{code}", ((database, code), 1.0))


def linked_providers(foreground: str) -> dict[str, tuple[tuple[str, str], float]]:
    """`database:code` of an open provider -> (its replacement, factor) in a linked foreground."""
    from bw2data.backends import ExchangeDataset as ED

    out = {}
    query = ED.select(ED.input_database, ED.input_code, ED.data).where(ED.output_database == foreground, ED.type == "technosphere")
    for in_db, in_code, data in query.tuples():
        if data.get("linked_from"):
            out[data["linked_from"]] = ((in_db, in_code), float(data.get("link_factor", 1.0)))
    return out


def _writer(campaign: Campaign, biosphere: str, foreground: str, inventories: Path | None, like: _Writer | None = None) -> _Writer:
    """A writer of `campaign`; `like`: a writer of the same project whose parameters and flow
    index are reused (a sweep writes many campaigns)."""
    if like is None:
        from bw2data.parameters import DatabaseParameter

        params = {p.name: p.amount for p in DatabaseParameter.select().where(DatabaseParameter.database.in_([foreground, "aicompute-background"]))}
        flows, codes, aggregated = flow_index(biosphere), flow_codes(biosphere), {}
    else:
        params, flows, codes, aggregated = like.evaluate.symbols, like.flows, like.codes, like.aggregated
    return _Writer(
        campaign=campaign,
        db=campaign.database_for(foreground),
        foreground=foreground,
        biosphere=biosphere,
        inventories=inventories,
        evaluate=FormulaEvaluator(params),
        parameters=set(params),
        flows=flows,
        codes=codes,
        aggregated=aggregated,
    )


# ---------------------------------------------------------------------------------------------
# rendering templates


def _overridden(formula: str, overrides: dict[str, float]) -> str:
    """A note of the campaign's values that replace parameters of `formula`."""
    used = sorted(formula_names(formula) & set(overrides))
    return "; campaign file: " + ", ".join(f"{n} = {overrides[n]:g}" for n in used) if used else ""


def _provider_pattern(exchange: dict) -> str | None:
    """The code of a template exchange's provider before substitution (`gpu-card-{gpu}`)."""
    ref = exchange.get("technosphere")
    return ref[1] if isinstance(ref, list) else ref


def render(w: _Writer, code: str, row: dict, overrides: dict[str, float], replace: dict[str, tuple[str, str] | None]) -> list[dict]:
    """The exchanges of the dataset template `code` for the campaign: placeholders filled from
    `row`, parameters in `overrides` replaced by the campaign's numbers, providers whose code
    pattern is in `replace` linked to the campaign's dataset (or dropped when None), and
    exchanges that are zero left out."""
    item, database, where = template(code, w.inventories)
    out = []
    for raw in item["exchanges"]:
        exc = substitute(raw, row, where)
        formula = with_values(str(exc["amount"]), overrides)
        source = str(exc["source"]) + _overridden(str(exc["amount"]), overrides)
        pattern = _provider_pattern(raw)
        if pattern in replace and replace[pattern] is None:
            continue
        if w.value(formula) == 0:
            continue
        if "biosphere" in exc:
            name, cats = exc["biosphere"]
            out.append(w.exchange(w.flow(name, tuple(cats), exc["unit"]), "biosphere", formula, exc["unit"], source, exc.get("comment", "")))
            continue
        ref = exc["technosphere"]
        if pattern in replace:
            provider, factor = replace[pattern], 1.0
        else:
            provider, factor = w.provider(*((ref[0], str(ref[1])) if isinstance(ref, list) else (database, str(ref))))
        if factor != 1.0:
            formula = f"({formula}) * {factor!r}"
        out.append(w.exchange(provider, "technosphere", formula, exc["unit"], source, exc.get("comment", "")))
    return out


def _term(value: float | None, parameter: str) -> str:
    """A placeholder's filling: the campaign's number, or the parameter's name."""
    return repr(float(value)) if value is not None else parameter


def site_row(campaign: Campaign) -> dict:
    """The row of the `sites` table that a campaign's site fills the templates with."""
    site, profile = campaign.site, profiles()[campaign.site.profile]
    return {
        "site": campaign.slug,
        "label": campaign.name,
        "grid": grid_code(site),
        "pue": _term(site.pue, profile["pue"]),
        "wue": _term(site.wue_l_per_kwh, profile["wue"]),
        "wue_withdrawal": repr(float(site.wue_basis == "withdrawal")) if site.wue_basis else profile["wue_withdrawal"],
        "profile": f"{site.profile} facility",
    }


def grid_code(site) -> str:
    """The code of the site's grid dataset (`electricity-grid-<code>`): the year's dataset when
    the file names a year that has one, else the country's (a composed year replaces it)."""
    from .read import dataset_years

    year = site.grid_year
    return f"{site.country}-{year}" if year is not None and year in dataset_years(site.country) else site.country


def hardware_overrides(campaign: Campaign, slug: str) -> dict[str, float]:
    """Parameters of the GPU-hour template that the campaign file sets, with its values."""
    hw = campaign.hardware
    given = {
        "hw_lifetime_years": hw.lifetime_years,
        "utilisation": hw.utilisation,
        "switches_per_gpu": hw.switches_per_gpu,
        "storage_tb_per_gpu": hw.storage_tb_per_gpu,
        f"{slug}_gpus_per_node": hw.gpus_per_node,
    }
    return {k: float(v) for k, v in given.items() if v is not None}


def phase_overrides(phase: Phase) -> dict[str, float]:
    """Parameters of the IT-energy formula that a phase sets (load factor, node overhead). A
    node overhead in W per GPU (a study's own node power) replaces the modelled one: the share
    of the GPUs' draw (`node_overhead_share`) is then 0 unless the phase gives it too."""
    given = {"gpu_load_factor": phase.load_factor, "node_overhead_w_per_gpu": phase.node_overhead_w_per_gpu, "node_overhead_share": phase.node_overhead_share}
    if phase.node_overhead_w_per_gpu is not None and phase.node_overhead_share is None:
        given["node_overhead_share"] = 0.0
    return {k: float(v) for k, v in given.items() if v is not None}


def measured_gpu_energy(measured_kwh: float, gh: str, overrides: dict[str, float]) -> str:
    """IT energy (kWh) of GPU energy measured by a log: the GPUs' own, the rest of the node as
    the share `node_overhead_share` of it, and the fixed `node_overhead_w_per_gpu` per GPU-hour."""
    share = with_values("node_overhead_share", overrides)
    fixed = with_values("node_overhead_w_per_gpu", overrides)
    return f"{measured_kwh!r} * (1 + {share}) + ({gh}) * {fixed} / 1000"


def it_energy_formula(w: _Writer, gpu_row: dict, overrides: dict[str, float]) -> str:
    """IT energy of one GPU-hour (kWh): the formula of the GPU-hour template's exchange to the
    datacenter operation, with the campaign's values (computed once per GPU and values)."""
    key = ("it energy", repr(sorted(gpu_row.items())), repr(sorted(overrides.items())))
    if key not in w.memo:
        w.memo[key] = _it_energy_formula(w, gpu_row, overrides)
    return w.memo[key]


def _it_energy_formula(w: _Writer, gpu_row: dict, overrides: dict[str, float]) -> str:
    item, _, where = template(GPU_HOUR_TEMPLATE, w.inventories)
    for raw in item["exchanges"]:
        if _provider_pattern(raw) == DCOP_TEMPLATE:
            formula = substitute(str(raw["amount"]), {**site_row(w.campaign), **gpu_row}, where)
            return with_values(formula, overrides)
    raise AicomputeError(f"inventories: template {GPU_HOUR_TEMPLATE!r} has no exchange to {DCOP_TEMPLATE!r}")


# ---------------------------------------------------------------------------------------------
# the campaign's datasets


#: The indicators whose characterised flows an embodied override or a given grid intensity
#: replaces when it gives the indicator's figure (`climate`: every climate method's gases).
FAMILIES = {"climate": ("climate", "climate_gwp20", "climate_ef"), "adp_minerals": ("adp_minerals",)}


def _characterised(family: str) -> set[int]:
    """Ids of the biosphere flows that the methods of an indicator family characterise."""
    import bw2data as bd

    out: set[int] = set()
    for name in FAMILIES[family]:
        method = resolve_indicator(name).method
        if method in bd.methods:
            out |= {k if isinstance(k, int) else bd.get_node(key=tuple(k)).id for k, *_ in bd.Method(method).load()}
    return out


def _aggregated_flows(w: _Writer, key: tuple[str, str], drop: list[str], keep_tags: bool = True) -> list[tuple[tuple[str, str], float, str]]:
    """The aggregated inventory of one unit of dataset `key` (its whole supply chain), without
    the flows of the indicator families in `drop` (`climate`, `adp_minerals`: the flows their
    methods characterise; `water`: every water flow and location flow) and, unless
    `keep_tags`, without location flows (a dataset that tags its water once): (flow key,
    amount, unit). Computed once per writer and shared by a sweep's variants; one sparse LU of
    the static technosphere, the flows read in one query."""
    import bw2calc as bc
    import bw2data as bd
    from bw2data.backends import ActivityDataset as AD
    from scipy.sparse.linalg import splu

    memo = (key, tuple(drop), keep_tags)
    if memo in w.aggregated:
        return w.aggregated[memo]
    lca = bc.LCA({bd.get_node(database=key[0], code=key[1]).id: 1})
    lca.load_lci_data()
    lca.build_demand_array()
    totals = lca.biosphere_matrix @ splu(lca.technosphere_matrix.tocsc()).solve(lca.demand_array)
    ids = set().union(*(_characterised(f) for f in drop if f in FAMILIES))
    rows = {lca.dicts.biosphere.reversed[r]: float(totals[r]) for r in np.flatnonzero(totals)}
    flows = []
    for id_, db, code, name, data in AD.select(AD.id, AD.database, AD.code, AD.name, AD.data).where(AD.id.in_(list(rows))).order_by(AD.id).tuples():
        located = db == LOCATED_DB
        if id_ in ids or (located and not keep_tags) or ("water" in drop and (located or name.startswith("Water"))):
            continue
        flows.append(((db, code), rows[id_], data.get("unit", "")))
    w.aggregated[memo] = flows
    return flows


def _tagged(w: _Writer, excs: list[dict], location: str, what: str, technologies: bool = False) -> list[dict]:
    """`excs` with the one location flow of the water a campaign's dataset consumes at
    `location` (`bw_aicompute.water.tag`): its own `Water` to air and, with `technologies`,
    that of its generation technologies (a scenario's or a month's grid)."""
    import bw2data as bd

    keys = water_to_air_keys(w.biosphere, w.flows, w.codes)
    for e in excs if technologies else []:
        if e["type"] == "technosphere" and e["input"] not in w.water:
            node = bd.get_node(database=e["input"][0], code=e["input"][1])
            w.water[e["input"]] = own_water([{**x.as_dict(), "input": x["input"]} for x in node.biosphere()], keys)
    return tag(excs, location, keys, w.water if technologies else {}, set(), what)


def _grid(w: _Writer) -> tuple[str, str] | None:
    """The campaign's own grid dataset when the file gives a grid intensity (else None): CO2 and
    water as given, the other flows of the country's open grid (aggregated)."""
    site = w.campaign.site
    if site.grid_kg_co2e_per_kwh is None:
        return None
    comment = f"Grid override of campaign {w.campaign.name!r}: {site.grid_kg_co2e_per_kwh} kg CO2-eq/kWh"
    comment += f", {site.grid_water_l_per_kwh} L/kWh" if site.grid_water_l_per_kwh is not None else "; water, resources and metals of the country grid"
    comment += f" ({site.grid_source})" if site.grid_source else ""
    name = f"electricity, grid mix as given by the campaign, {site.country}"
    return _given_grid(w, "grid", name, site.grid_kg_co2e_per_kwh, site.grid_water_l_per_kwh, site.grid_source or w.source, comment)


def _given_grid(w: _Writer, code: str, name: str, kg: float, litres: float | None, source: str, comment: str) -> tuple[str, str]:
    """A grid dataset of the campaign with an intensity given (kg CO2-eq per kWh, as CO2, and
    L of water per kWh, or the country grid's water when None) and the other flows of the
    site's open grid (aggregated)."""
    site = w.campaign.site
    excs = [{"input": w.flow("Carbon dioxide, fossil", ("air",), "kilogram"), "amount": kg, "type": "biosphere", "unit": "kilogram", "source": source}]
    if litres is not None:
        water = litres / 1000
        excs.append({"input": w.flow("Water", ("air",), "cubic meter"), "amount": water, "type": "biosphere", "unit": "cubic meter", "source": source})
        excs.append({"input": w.flow("Water, unspecified natural origin", ("natural resource", "in water"), "cubic meter"), "amount": water, "type": "biosphere", "unit": "cubic meter", "source": "withdrawal = consumption"})
    other = f"aggregated inventory of 1 kWh of market for electricity, grid mix [{site.country}] (its generation technologies)"
    grid = ("aicompute-background", f"electricity-grid-{site_row(w.campaign)['grid']}")
    for key, amount, unit in _aggregated_flows(w, grid, ["climate"] + (["water"] if litres is not None else []), keep_tags=False):
        excs.append({"input": key, "amount": amount, "type": "biosphere", "unit": unit, "source": other})
    excs = _tagged(w, excs, site.country, "the grid water given by the campaign")
    return w.add(code, name, "kilowatt hour", excs, comment, location=site.country, stage="electricity")


def _climate_per_kwh(providers: dict[tuple[str, str], float]) -> float:
    """Climate (IPCC 2021 GWP100, kg CO2-eq) of the written datasets `providers` at their amounts."""
    from ..lca import multi_scores, node_ids

    method = resolve_indicator("climate").method
    ids = node_ids(list(providers))
    scores = multi_scores({f"{k[0]}|{k[1]}": {ids[k]: 1.0} for k in providers}, [method])
    return sum(amount * scores[(method, f"{k[0]}|{k[1]}")] for k, amount in providers.items())


def hourly_comparison(w: _Writer, p: Phase) -> dict:
    """The hourly intensity of a phase beside the annual mix's and, over the months of its log
    the site's monthly file has, the monthly mixes' (kg CO2-eq per kWh, climate indicator)."""
    h, mix = p.hourly, w.campaign.site.monthly_mix
    annual = _climate_per_kwh({("aicompute-background", f"electricity-grid-{site_row(w.campaign)['grid']}"): 1.0})
    out = {"kg_per_kwh": h.kg_per_kwh, "l_per_kwh": h.l_per_kwh, "hours": h.hours, "coverage": h.coverage, "annual_kg_per_kwh": annual, "monthly_kg_per_kwh": None}
    if mix is not None and all(sum(mix.months.get(m, {}).values()) for m in h.months):
        total = 0.0
        for m, share in h.months.items():
            gen = mix.months[m]
            row = {t: gen.get(t, 0.0) for t in SCENARIO_TECHNOLOGIES} | {"total": sum(gen.values())}
            total += share * _climate_per_kwh({e["input"]: e["amount"] for e in render(w, GRID_TEMPLATE, row, {}, {}) if e["type"] == "technosphere"})
        out["monthly_kg_per_kwh"] = total
    return out


def hourly_operation(w: _Writer, i: int, p: Phase) -> tuple[str, str]:
    """The datacenter operation of a phase whose log is weighted by the site's hourly series:
    its own grid with the energy-weighted intensity (`Phase.hourly`)."""
    h, series = p.hourly, w.campaign.site.hourly_intensity
    source = f"{series.path.name} (zone {series.zone}), weighted by the GPU energy of the phase's log over {h.hours} h ({h.coverage:.1%} of its energy)"
    comment = f"Grid electricity of phase {p.name!r} at the hourly intensity of {series.path.name}, energy-weighted: {h.kg_per_kwh:.4g} kg CO2-eq/kWh" + (f", {h.l_per_kwh:.4g} L/kWh" if h.l_per_kwh is not None else "; water, resources and metals of the country grid")
    grid = _given_grid(w, f"grid-hourly-{i}", f"electricity, hourly intensity of phase {p.name}, {w.campaign.site.country}", h.kg_per_kwh, h.l_per_kwh, source, comment)
    return _render_operation(w, f"datacenter-operation-hourly-{i}", grid)


#: The grid-mix template whose exchanges (technologies at generation shares) a scenario fills.
GRID_TEMPLATE = "electricity-grid-{iso2}"


def _composed_grid(w: _Writer, code: str, name: str, row: dict[str, float], origin: str, comment: str) -> tuple[str, str]:
    """A campaign's own grid mix: the grid-mix template of the inventories filled with `row`
    (generation by technology, any unit, and its `total`), so the same technologies, cooling
    split and scope as the national mixes; its water located in the site's country."""
    country = w.campaign.site.country
    excs = render(w, GRID_TEMPLATE, row, {}, {})
    for e in excs:
        e["source"] = f"{origin}: {e['source']}"
        e["comment"] = comment_with_source(e.get("comment"), e["source"])
    excs = _tagged(w, excs, country, f"the generation water of {origin}", technologies=True)
    return w.add(code, name, "kilowatt hour", excs, comment + " Technologies, cooling split and scope as in the national mixes.", location=country, stage="electricity")


def _scenario_grid(w: _Writer) -> tuple[str, str] | None:
    """The campaign's own grid when the file names a planned mix (`site.grid_scenario`), None
    without one."""
    sc, country = w.campaign.site.grid_scenario, w.campaign.site.country
    if sc is None:
        return None
    row = {t: 100.0 * sc.shares.get(t, 0.0) for t in SCENARIO_TECHNOLOGIES} | {"total": 100.0}
    comment = f"Planned generation mix {sc.name!r} ({sc.year}) for {country}, from {sc.path.name}: {sc.source}."
    return _composed_grid(w, "grid-scenario", f"market for electricity, grid mix of scenario {sc.name}, {sc.year}", row, f"grid scenario {sc.name!r} ({sc.path.name})", comment)


def _year_generation(code: str, year: int) -> tuple[dict[str, float], str] | None:
    """Generation by technology (TWh) of grid `code` in `year` from the shipped yearly file
    (EIA-923 via Ember): a US state's, or the US's as the sum of its states; None elsewhere."""
    from .dates import state_years, us_years

    if code.startswith("US-"):
        gen = state_years(code).get(year)
        return (gen, f"{code} generation of {year} (EIA-923 via Ember)") if gen else None
    gen = us_years().get(year) if code == "US" else None
    return (gen, f"US generation of {year}, the sum of its 50 states and DC (EIA-923 via Ember)") if gen else None


def year_grid(w: _Writer, year: int) -> tuple[str, str] | None:
    """The grid of the site's country in `year`: None for its own dataset's year (the
    template's grid); the inventories' dataset of that year; or, for the US and its states, the
    grid-mix template filled with the shipped generation of that year (written once per
    campaign). None too where the year is not held."""
    from .read import dataset_years, default_grid_year

    code = w.campaign.site.country
    if year == default_grid_year(code):
        return None
    if year in dataset_years(code):
        return ("aicompute-background", f"electricity-grid-{code}-{year}")
    composed = _year_generation(code, year)
    if composed is None:
        return None
    key = (w.db, w.prefix + f"grid-{year}")
    if key in w.data:
        return key
    gen, origin = composed
    row = {t: gen.get(t, 0.0) for t in SCENARIO_TECHNOLOGIES} | {"total": sum(gen.values())}
    comment = f"Grid electricity generated in {code} in {year}: {origin}, net generation by source (shipped), {row['total']:g} TWh."
    return _composed_grid(w, f"grid-{year}", f"market for electricity, grid mix, {year}", row, origin, comment)


def _site_year_grid(w: _Writer) -> tuple[str, str] | None:
    """The campaign's own grid when the file names a year (`site.grid_year`) that no dataset
    holds (a US state's or the US's, composed); None otherwise (the template's grid code names
    the year's dataset, `site_row`)."""
    from .read import dataset_years

    site = w.campaign.site
    if site.grid_year is None or site.grid_year in dataset_years(site.country):
        return None
    return year_grid(w, site.grid_year)


def annual_operation(w: _Writer, year: int, annual: tuple[str, str]) -> tuple[str, str]:
    """The datacenter operation of a dated month outside the monthly mix: on the annual mix of
    the month's year where the inventories hold it (`phase_year`), else `annual`."""
    if ("phase_year", year) not in w.memo:  # asked for every month of every phase
        w.memo[("phase_year", year)] = phase_year(w.campaign, year, w.foreground)
    held = w.memo[("phase_year", year)]
    if held is None:
        return annual
    key = (w.db, w.prefix + f"datacenter-operation-{held}")
    if key in w.data:
        return key
    grid = year_grid(w, held)
    return annual if grid is None else _render_operation(w, f"datacenter-operation-{held}", grid)


def annual_label(campaign: Campaign, month: str, foreground: str = "aicompute") -> str:
    """Which annual mix a dated month outside the monthly mix takes (`phase_year`), as the
    report and the JSON state it."""
    from .read import default_grid_year

    site, year = campaign.site, int(month[:4])
    if foreground != "aicompute":
        return f"annual mix of the linked database ({foreground})"
    if site.grid_kg_co2e_per_kwh is not None:
        return "the grid intensity given (site.grid)"
    if site.grid_scenario is not None:
        return f"the planned mix {site.grid_scenario.name!r} (site.grid_scenario)"
    if site.year_stated:
        return f"annual mix of {site.grid_year or default_grid_year(site.country)} (site.grid_year)"
    og = open_grid(campaign)
    if og is not None and og.what == "state":
        return "annual mixes of the data-centre states (state not given)"
    held = phase_year(campaign, year) or default_grid_year(site.country)
    if held is None:
        return "annual mix (the source states no year)"
    return f"annual mix of {held}" + ("" if held == year else f", the nearest year held for {year}")


def phase_year(campaign: Campaign, year: int, foreground: str = "aicompute") -> int | None:
    """The year whose annual mix a dated month of `year` takes when the site's monthly mix has
    no such month: that year where the inventories hold it, else the nearest year held; None
    where the campaign fixes its grid (an intensity, a scenario, site.grid_year), the
    foreground is linked (a release's grids are of its own year), or the site's year-default
    is the nearest anyway."""
    from .read import default_grid_year, grid_years

    site = campaign.site
    if foreground != "aicompute" or site.year_stated or site.grid_kg_co2e_per_kwh is not None or site.grid_scenario is not None:
        return None
    og = open_grid(campaign)
    if og is not None and og.what == "state":  # the data-centre states' market stays
        return None
    years = grid_years(site.country)
    if not years:
        return None
    held = min(years, key=lambda y: (abs(y - year), -y))
    return None if held == default_grid_year(site.country) else held


def month_operation(w: _Writer, month: str, annual: tuple[str, str]) -> tuple[str, str]:
    """The datacenter operation of `month` (YYYY-MM): the site's, on the grid of that month's
    generation mix when the campaign's monthly file has it, else `annual` (the annual mix)."""
    mix, country = w.campaign.site.monthly_mix, w.campaign.site.country
    if mix is None or month not in mix.months or not sum(mix.months[month].values()):
        return annual_operation(w, int(month[:4]), annual)
    key = (w.db, w.prefix + f"datacenter-operation-{month}")
    if key in w.data:
        return key
    gen = mix.months[month]
    row = {t: gen.get(t, 0.0) for t in SCENARIO_TECHNOLOGIES} | {"total": sum(gen.values())}
    comment = f"Grid electricity generated in {country} in {month}: the generation of {mix.name} (Ember monthly electricity data), {row['total']:g} TWh."
    grid = _composed_grid(w, f"grid-{month}", f"market for electricity, grid mix, {month}", row, f"monthly mix {month} ({mix.name})", comment)
    return _render_operation(w, f"datacenter-operation-{month}", grid)


#: The code of a campaign's contracted electricity (market-based result).
CONTRACT_CODE = "electricity-contract"


def contract_electricity(w: _Writer) -> tuple[str, str]:
    """1 kWh of the contract's generation technology (`site.electricity_contract`), generated in
    the site's market (GHG Protocol Scope 2 Guidance: a contract's generation is in the same
    market), so its water is tagged with the site's place; scored by the market-based result."""
    c = w.campaign.site.contract
    code = next(r["code"] for r in tables(w.inventories)["contract_technologies"] if r["technology"] == c.technology)
    provider, factor = w.provider("aicompute-background", code)
    excs = [{"input": provider, "amount": factor, "type": "technosphere", "unit": "kilowatt hour", "source": f"electricity contract ({c.type}, {c.technology}): {c.source}"}]
    excs = _tagged(w, excs, w.campaign.site.country, f"the generation water of the contracted {c.technology}", technologies=True)
    comment = f"Electricity of the campaign's contract ({c.type}, {c.technology}), generated in the site's market ({w.campaign.site.country}); for the market-based result only."
    return w.add(CONTRACT_CODE, f"electricity, contract, {c.technology}, {w.campaign.site.country}", "kilowatt hour", excs, comment, location=w.campaign.site.country, stage="electricity")


#: Years of the site's grid a campaign that states no year (site.grid_year) may have run in: the
#: latest ones the inventories hold.
OPEN_YEARS = 3
#: The code of a campaign's market of the grids its inputs leave open.
OPEN_GRID_CODE = "grid-open"


@dataclass
class OpenGrid:
    """What a campaign's inputs leave open about its grid (the year of the mix, or the state
    of a US site) and the grids it may be, with their probabilities: the campaign's grid is
    their market (the expected value), and Monte Carlo draws one of them per iteration. Not
    against a linked ecoinvent, whose grids are of its release's year."""

    what: str  # "year" or "state"
    candidates: list[tuple[str, float, str]]  # (grid code, probability, label)
    source: str


def open_grid(campaign: Campaign, inventories: Path | None = None) -> OpenGrid | None:
    """The grids a campaign's site may draw from when its file leaves the grid open: a US site
    without a state (the states where data centres are, weighted by their electricity use,
    table `datacenter_states`), or a site without `grid_year` whose phases are undated (the
    `OPEN_YEARS` latest years the inventories hold, equally likely; a US state's or the US's
    years without a dataset composed, `year_grid`). None when the file fixes the grid (a given
    intensity, a scenario, a year) or nothing is open."""
    from .read import default_grid_year, grid_years

    site, t = campaign.site, tables(inventories)
    if site.grid_kg_co2e_per_kwh is not None or site.grid_scenario is not None or site.year_stated:
        return None
    states = [r for r in t.get("datacenter_states", []) if r["state"].split("-")[0] == site.country]
    if states:
        total = sum(float(r["twh"]) for r in states)
        return OpenGrid("state", [(r["state"], float(r["twh"]) / total, r["state"]) for r in states], states[0]["source"])
    if any(p.months for p in campaign.phases):  # dated: each month takes its own year's mix
        return None
    years = grid_years(site.country)[-OPEN_YEARS:]
    if len(years) < 2:
        return None
    own = default_grid_year(site.country)
    codes = [(site.country if y == own else f"{site.country}-{y}", 1 / len(years), str(y)) for y in years]
    return OpenGrid("year", codes, f"site.grid_year not given: the {len(years)} latest years of the inventories, equally likely")


def _open_grid(w: _Writer) -> tuple[str, str] | None:
    """The market of the grids the campaign's inputs leave open (`open_grid`), None if none."""
    og = open_grid(w.campaign, w.inventories)
    if og is None or w.foreground != "aicompute":  # a linked release's grid is of its own year
        return None
    excs = []
    for code, p, label in og.candidates:
        composed = year_grid(w, int(label)) if og.what == "year" else None  # a US year without a dataset: composed
        provider, factor = (composed, 1.0) if composed and composed[0] == w.db else w.provider("aicompute-background", f"electricity-grid-{code}")
        excs.append({"input": provider, "amount": p * factor, "type": "technosphere", "unit": "kilowatt hour", "choice": "grid", "source": f"{og.source}; {label}: probability {p:.4g}"})
    country = w.campaign.site.country
    labels = ", ".join(label for _, _, label in og.candidates)
    comment = (f"Grid electricity of the site ({country}) when the campaign file leaves its {og.what} open: the expected value over {labels} "
               f"({og.source}). Monte Carlo draws one of them per iteration (exchanges marked 'choice').")
    return w.add(OPEN_GRID_CODE, f"market for electricity, grid of the site, {og.what} open, {country}", "kilowatt hour", excs, comment, location=country, stage="electricity", choice=f"grid {og.what}")


def shipped_site(campaign: Campaign) -> str | None:
    """The site of the `sites` table with the campaign's grid and facility profile, if any."""
    profile = profiles()[campaign.site.profile]
    if campaign.site.grid_year is not None or campaign.site.grid_scenario is not None:  # the campaign's own site
        return None
    for row in tables()["sites"]:
        if row["grid"] == campaign.site.country and (row["pue"], row["wue"]) == (profile["pue"], profile["wue"]):
            return row["site"]
    return None


def datacenter_operation(w: _Writer) -> tuple[str, str]:
    """The datacenter operation of the campaign: the foreground's for its site, or the
    campaign's own rendering of the template when the file overrides the PUE, the WUE or the
    grid (or names a profile not shipped for its country)."""
    site, shipped = w.campaign.site, shipped_site(w.campaign)
    grid = _grid(w) or _scenario_grid(w) or _site_year_grid(w) or _open_grid(w)
    if shipped is not None and grid is None and site.pue is None and site.wue_l_per_kwh is None:
        return (w.foreground, f"datacenter-operation-{shipped}")
    return _render_operation(w, "datacenter-operation", grid)


def _render_operation(w: _Writer, code: str, grid: tuple[str, str] | None) -> tuple[str, str]:
    """The datacenter-operation template rendered for the campaign's site, on `grid` (its
    country's grid when None)."""
    row = site_row(w.campaign)
    excs = render(w, DCOP_TEMPLATE, row, {}, {GRID_PROVIDER: grid} if grid else {})
    item, _, where = template(DCOP_TEMPLATE, w.inventories)
    ds = substitute({k: v for k, v in item.items() if k != "exchanges"}, row, where)
    comment = " ".join(str(ds["comment"]).split())
    extra = {"stage": ds["stage"]} if ds.get("stage") else {}
    excs = _tagged(w, excs, w.campaign.site.country, "the on-site water")
    name = str(ds["name"]) + (f", {code.removeprefix('datacenter-operation-')}" if code != "datacenter-operation" else "")
    return w.add(code, name, ds["unit"], excs, comment, location=w.campaign.site.country, **extra)


def _embodied(w: _Writer, code: str, name: str, o: Override, stage: str, what: str, bottom_up: tuple[str, str]) -> tuple[str, str]:
    """A dataset of an embodied footprint given by the campaign file: the indicators it gives
    (GHG lumped as CO2-eq; water consumed; kg Sb-eq on the Antimony PROXY flow) replace the
    flows of those indicators only; every other flow is the bottom-up dataset's (`bottom_up`,
    its aggregated inventory), so no indicator falls to zero because a study gave carbon only."""
    src = o.source or w.source
    given = o.given()
    excs = [{"input": w.flow("Carbon dioxide, fossil", ("air",), "kilogram"), "amount": o.kg_co2e, "type": "biosphere", "unit": "kilogram", "source": src, "comment": "GHG as given, lumped as CO2-eq"}]
    if o.water_m3:
        excs.append({"input": w.flow("Water", ("air",), "cubic meter"), "amount": o.water_m3, "type": "biosphere", "unit": "cubic meter", "source": src})
        excs.append({"input": w.flow("Water, unspecified natural origin", ("natural resource", "in water"), "cubic meter"), "amount": o.water_m3, "type": "biosphere", "unit": "cubic meter", "source": "withdrawal = consumption"})
    if o.kg_sb_eq:
        excs.append({"input": w.flow("Antimony", ("natural resource", "in ground"), "kilogram"), "amount": o.kg_sb_eq, "type": "biosphere", "unit": "kilogram", "source": src, "comment": "PROXY flow carrying kg Sb-eq"})
    other = f"bottom-up: aggregated inventory of 1 unit of {bottom_up[1]} (the inventories), for the indicators the campaign file does not give"
    for key, amount, unit in _aggregated_flows(w, bottom_up, given):
        excs.append({"input": key, "amount": amount, "type": "biosphere", "unit": unit, "source": other})
    kept = [f for f in ("water", "adp_minerals") if f not in given] + ["energy and the other indicators"]
    comment = f"Embodied footprint of {what} as given by campaign {w.campaign.name!r} ({o.source or 'no source given'}) for {', '.join(given)}; {', '.join(kept)} from the bottom-up dataset {bottom_up[1]}."
    return w.add(code, name, "unit", excs, comment, stage=stage)


def gpu_time(w: _Writer, gpu_row: dict) -> tuple[str, str]:
    """The embodied share of one GPU-hour of a GPU model: the GPU-hour template without its IT
    energy, with the campaign's hardware values and embodied overrides."""
    c, slug, name = w.campaign, gpu_row["gpu"], gpu_row["name"]
    hw = c.hardware
    replace: dict[str, tuple[str, str] | None] = {DCOP_TEMPLATE: None}
    if hw.gpu_embodied is not None:
        card = w.provider(w.foreground, CARD_PROVIDER.format(gpu=slug))[0]
        replace[CARD_PROVIDER] = _embodied(w, f"gpu-card-{slug}", f"GPU card, {name}, embodied footprint as given", hw.gpu_embodied, "GPU manufacturing", f"one {name}", card)
    if hw.server_embodied is not None:
        server = w.provider(w.foreground, SERVER_PROVIDER.format(server=gpu_row["server"]))[0]
        replace[SERVER_PROVIDER] = _embodied(w, f"server-{slug}", f"GPU server without GPUs, for {name}, embodied footprint as given", hw.server_embodied, "server, network and storage manufacturing", "one server (without GPUs)", server)
    if not hw.datacenter_infrastructure:
        replace[INFRASTRUCTURE_PROVIDER] = None
    overrides = hardware_overrides(c, slug)
    excs = render(w, GPU_HOUR_TEMPLATE, {**site_row(c), **gpu_row}, overrides, replace)
    lifetime = w.value(with_values("hw_lifetime_years", overrides))
    utilisation = w.value(with_values("utilisation", overrides))
    comment = f"Time-allocated embodied share of one {name} GPU-hour in campaign {c.name!r}: lifetime {lifetime:g} years, utilisation {utilisation:g}."
    return w.add(f"gpu-time-{slug}", f"GPU time, {name}, embodied share, {c.name}", "hour", excs, comment)


def _phase_amounts(w: _Writer, p: Phase, gpu_row: dict) -> tuple[str, str, str]:
    """(GPU-hours formula, IT energy formula in kWh, how the energy was obtained) of a phase."""
    per_node = _term(w.campaign.hardware.gpus_per_node, f"{p.gpu}_gpus_per_node")
    gh = repr(p.gpu_hours) + (f" + {p.node_hours!r} * {per_node}" if p.node_hours else "")
    extra = f" + {p.extra_energy_kwh:g} kWh extra" if p.extra_energy_kwh else ""
    overrides = phase_overrides(p)
    if p.energy_kwh is not None:
        return gh, repr(p.energy_kwh + p.extra_energy_kwh), f"measured {p.energy_kwh:g} kWh ({p.energy_source or 'campaign file'})" + extra
    if p.measured_gpu_kwh is not None:  # the log measures the GPUs: the template's GPU term is replaced
        energy = measured_gpu_energy(p.measured_gpu_kwh, gh, overrides)
        how = f"{p.energy_source} + node overhead: {w.value(energy) - p.measured_gpu_kwh:g} kWh"
        return gh, f"{energy} + {p.extra_energy_kwh!r}", how + extra
    per_hour = it_energy_formula(w, gpu_row, overrides)
    how = f"{w.value(gh):g} GPU-h x {w.value(per_hour) * 1000:g} W ({per_hour})"
    return gh, f"({gh}) * ({per_hour}) + {p.extra_energy_kwh!r}", how + extra


def _month_activities(w: _Writer, i: int, p: Phase, gh: str, energy: str, how: str, time_key: tuple[str, str], dcop: tuple[str, str]) -> dict[str, tuple[str, str]]:
    """The months of a dated phase as activities of their own (month -> key): its GPU time and
    IT energy times the month's share of the phase's hours, the energy from that month's
    datacenter operation (`month_operation`)."""
    out = {}
    for m, share in p.months.items():
        excs = []
        if w.value(gh) > 0:
            excs.append(w.exchange(time_key, "technosphere", gh, "hour", f"GPU time of the phase (campaign file) x {share:.4g}, its share of the phase's hours in {m}", times=share))
        if w.value(energy) > 0:
            excs.append(w.exchange(month_operation(w, m, dcop), "technosphere", energy, "kilowatt hour", f"{how}; x {share:.4g}, the share of the phase's hours in {m}", times=share))
        out[m] = w.add(f"phase-{i}-{m}", f"phase, {p.name} ({p.kind}), {m}, {w.campaign.name}", "unit", excs, f"The part of phase {p.name!r} that ran in {m} ({share:.4g} of its hours)", phase=p.name, month=m)
    return out


def _phases(w: _Writer, gpu_rows: dict[str, dict], time_keys: dict, dcop: tuple[str, str]) -> list[PhaseModel]:
    models = []
    for i, p in enumerate(w.campaign.phases, start=1):
        gh, energy, how = _phase_amounts(w, p, gpu_rows[p.gpu])
        excs = []
        if w.value(gh) > 0:
            excs.append(w.exchange(time_keys[p.gpu], "technosphere", gh, "hour", "GPU time of the phase (campaign file)"))
        phase_dcop = hourly_operation(w, i, p) if p.hourly is not None else dcop
        months = _month_activities(w, i, p, gh, energy, how, time_keys[p.gpu], dcop) if p.months and p.hourly is None else {}
        if months:  # a dated phase: its months
            excs = [w.exchange(k, "technosphere", "1.0", "unit", f"the part of the phase in {m}") for m, k in months.items()]
        elif w.value(energy) > 0:
            excs.append(w.exchange(phase_dcop, "technosphere", energy, "kilowatt hour", how))
        name = f"phase, {p.name} ({p.kind}), {w.campaign.name}"
        amounts = {"gpu_hours": w.value(gh), "it_energy_kwh": w.value(energy)}
        dated = {"months": {m: list(k) for m, k in months.items()}} if months else {}
        if p.hourly is not None:
            dated["hourly"] = hourly_comparison(w, p)
        key = w.add(f"phase-{i}", name, "unit", excs, p.description or f"{p.kind} phase of campaign {w.campaign.name!r}", phase=p.name, kind=p.kind, **amounts, **dated)
        models.append(PhaseModel(phase=p, key=key, **amounts, months=months, hourly=dated.get("hourly")))
    return models


def compose(w: _Writer) -> CampaignModel:
    """Add the datasets of `w.campaign` to `w.data`: the datacenter operation, the GPU time of
    each GPU model, one dataset per phase and the campaign (codes prefixed by `w.prefix`)."""
    campaign, inventories = w.campaign, w.inventories
    dcop = datacenter_operation(w)
    gpu_rows = {row["gpu"]: row for row in tables(inventories)["all_gpus"]}
    time_keys = {slug: gpu_time(w, gpu_rows[slug]) for slug in sorted({p.gpu for p in campaign.phases})}
    phases = _phases(w, gpu_rows, time_keys, dcop)
    fu = w.add(FUNCTIONAL_UNIT, f"campaign, {campaign.name}", "unit", [w.exchange(pm.key, "technosphere", "1.0", "unit", "phase of the campaign") for pm in phases], campaign.description or f"Training campaign {campaign.name!r}")
    serving = _serving(w, gpu_rows, time_keys, dcop) if campaign.deployment else None
    if campaign.site.contract is not None:
        contract_electricity(w)
    return CampaignModel(campaign=campaign, database=w.db, key=fu, phases=phases, foreground=w.foreground, serving=serving)


def _serving_writer(w: _Writer) -> _Writer:
    """The writer of the deployment's own datasets: `w` itself, or, when the deployment has its
    own site or hardware (a serving file), a writer of the same database whose campaign has
    them and whose codes start with `serving-`."""
    from dataclasses import replace

    c, d = w.campaign, w.campaign.deployment
    if d.site is None and d.hardware is None:
        return w
    served = replace(c, name=f"{c.name} (serving)", site=d.site or c.site, hardware=d.hardware or c.hardware)
    return replace(w, campaign=served, prefix=w.prefix + "serving-")


def _serving_energy(w: _Writer, gpu_row: dict, gh: str) -> tuple[str, str]:
    """(IT energy formula in kWh, how it was obtained) of the deployment: measured, measured on
    the GPUs with the node besides modelled, or the power model at the inference load factor
    (`gpu_load_factor_inference`) unless the deployment gives one."""
    d = w.campaign.deployment
    if d.energy_kwh is not None:
        return repr(d.energy_kwh), f"measured {d.energy_kwh:g} kWh ({d.energy_source})"
    if d.measured_gpu_kwh is not None:
        energy = measured_gpu_energy(d.measured_gpu_kwh, gh, {})
        return energy, f"measured GPU energy {d.measured_gpu_kwh:g} kWh + node overhead {w.value(energy) - d.measured_gpu_kwh:g} kWh"
    per_hour = it_energy_formula(w, gpu_row, {} if d.load_factor is None else {"gpu_load_factor": d.load_factor})
    per_hour = re.sub(r"\bgpu_load_factor\b", "gpu_load_factor_inference", per_hour)
    return f"({gh}) * ({per_hour})", f"{w.value(gh):g} GPU-h x {w.value(per_hour) * 1000:g} W ({per_hour})"


def _serving(w: _Writer, gpu_rows: dict[str, dict], time_keys: dict, dcop: tuple[str, str]) -> PhaseModel:
    """The deployment's activity `serving` (not an input of the campaign): its GPU time and IT
    energy, at the campaign's site and on its hardware unless the deployment has its own."""
    d, sw = w.campaign.deployment, _serving_writer(w)
    if sw is not w:
        dcop, time_keys = datacenter_operation(sw), {}
    if d.gpu not in time_keys:
        time_keys[d.gpu] = gpu_time(sw, gpu_rows[d.gpu])
    gh = f"{d.gpus!r} * {d.hours!r}"
    energy, how = _serving_energy(sw, gpu_rows[d.gpu], gh)
    excs = [w.exchange(time_keys[d.gpu], "technosphere", gh, "hour", "GPU time of the deployment (campaign file)"), w.exchange(dcop, "technosphere", energy, "kilowatt hour", how)]
    amounts = {"gpu_hours": w.value(gh), "it_energy_kwh": w.value(energy)}
    served = "; ".join(f"{v:,.0f} {UNIT_PLURALS[u]}" for u, v in d.served.items())
    comment = f"Serving the model of campaign {w.campaign.name!r}: {d.gpus:g} GPUs for {d.hours:g} h; {served} ({d.throughput})."
    key = w.add("serving", f"serving, {d.name}, {w.campaign.name}", "unit", excs, comment, phase=d.name, kind="inference", **amounts)
    phase = Phase(name=d.name, kind="inference", gpu=d.gpu, gpu_hours=amounts["gpu_hours"], energy_kwh=d.energy_kwh, extra_energy_kwh=0.0, load_factor=d.load_factor, node_overhead_w_per_gpu=None)
    return PhaseModel(phase=phase, key=key, **amounts)


def _content(w: _Writer, meta: dict) -> str:
    """A fingerprint of what `_write` would write: the datasets, the metadata, whether formulas
    are kept, and the last write of every database they link to (their node ids)."""
    import json

    links = [generation(d) for d in meta["depends"]]
    return fingerprint("campaign", json.dumps([[list(k), v] for k, v in sorted(w.data.items())], sort_keys=True, default=str), json.dumps(meta, sort_keys=True, default=str), str(w.formulas), *links)


def _unchanged(bd, w: _Writer, fp: str) -> bool:
    """Whether the database `w.db` holds what would be written: ours, complete, of the same
    content fingerprint and row count, and not edited since (bw2data's `modified`)."""
    if state(bd.databases, w.db, fp, database_rows(w.db)) != "current":
        return False
    meta = bd.databases[w.db]
    return meta.get("modified") == (owner(meta) or {}).get("modified")


def _write(w: _Writer, meta: dict) -> None:
    """Write `w.data` as the database `w.db`, owned by bw_aicompute, with its parameters; a
    database that already holds the same content, unedited, is kept as it is (a warm `assess`
    of an unchanged file writes nothing)."""
    import bw2data as bd

    meta = {"depends": sorted({e["input"][0] for d in w.data.values() for e in d["exchanges"]} - {w.db}), **meta}
    fp = _content(w, meta)
    if _unchanged(bd, w, fp):
        return

    def write() -> None:  # the keys are ours, checked once by a test with bw2data's typo checks
        bd.Database(w.db).write(classified(w.data), check_typos=False)
        _register_parameters(bd, w)

    write_owned(bd.databases, bd.Database(w.db), w.db, meta, fp, write, count=database_rows(w.db), expected=len(w.data), kind="campaign")
    bd.databases[w.db][OWNER_KEY]["modified"] = bd.databases[w.db].get("modified")
    bd.databases.flush()


def file_digest(path: Path | str | None) -> str:
    """SHA-256 of a campaign file's bytes ('' without a readable file): the same file at
    another path (an example in the repository and its installed copy) has the same digest."""
    if path is None:
        return ""
    try:
        return fingerprint(Path(path).read_bytes())
    except OSError:
        return ""


def _refuse_other_file(bd, campaign: Campaign, db: str) -> None:
    """Refuse to replace the database of a campaign of the same name written from another file:
    neither the same path nor the same content (a copy of the same file is the same campaign)."""
    meta = bd.databases[db] if db in bd.databases else {}
    before, digest = meta.get("campaign_file") or "", meta.get("campaign_sha256") or ""
    if not before or not campaign.path or Path(before).resolve() == Path(campaign.path).resolve():
        return
    if not digest or digest != file_digest(campaign.path):
        raise AicomputeError(
            f"{campaign.path}: campaign name {campaign.name!r} is already used in project {bd.projects.current!r} by {before} "
            f"(database {db!r}); rename the campaign, or give --replace to replace it"
        )


def write_campaign(campaign: Campaign, biosphere: str, foreground: str = "aicompute", inventories: Path | None = None, replace: bool = False, formulas: bool = True) -> CampaignModel:
    """Write a campaign into the current project, replacing its database only.

    Parameters
    ----------
    campaign : Campaign
        A validated campaign (`read_campaign`).
    biosphere : str
        The project's biosphere database.
    foreground : str
        The database of the hardware and datacenter datasets: `aicompute`, or a copy linked to
        ecoinvent (`link_ecoinvent`); the campaign's database name gets its suffix.
    inventories : Path, optional
        The inventory folder whose templates are rendered (default: the shipped one; give the
        folder the project was set up from).
    replace : bool
        Replace the database of a campaign of the same name written from another file (refused
        otherwise).
    formulas : bool
        Keep the formulas of the exchanges that name parameters (default). False writes numbers
        only (the same amounts): a parameter's distribution, or an edit of it, then no longer
        reaches the campaign's exchanges, in bw_aicompute's Monte Carlo as in Activity Browser's,
        which then needs no parameter recalculation for them.

    Returns
    -------
    CampaignModel
        The database, the key of the campaign activity and, per phase, GPU-hours and IT energy
        (kWh) at the default parameter values.
    """
    import bw2data as bd

    w = _writer(campaign, biosphere, foreground, inventories)
    w.formulas = formulas
    refuse_foreign(bd.databases, w.db, "rename the campaign")
    if not replace:
        _refuse_other_file(bd, campaign, w.db)
    model = compose(w)
    meta = {"format": "bw_aicompute campaign", "campaign": campaign.name, "campaign_file": str(Path(campaign.path).resolve()) if campaign.path else "", "campaign_sha256": file_digest(campaign.path), "formulas": formulas}
    _write(w, {**meta, "functional_unit": model.key[1], "phases": [pm.key[1] for pm in model.phases]})
    return model


def write_campaigns(campaigns: list[Campaign], database: str, biosphere: str, foreground: str = "aicompute", progress: bool = False) -> list[CampaignModel]:
    """Write several campaigns (the variants of a sweep) into ONE database, replacing it only;
    the codes of campaign k start with `v<k>-`.

    Parameters
    ----------
    campaigns : list of Campaign
        Validated campaigns.
    database : str
        The database (`aicompute-sweep-<name>`).
    biosphere, foreground : str
        As for `write_campaign`.
    progress : bool
        Show a progress bar (tqdm, on stderr) over the campaigns.

    Returns
    -------
    list of CampaignModel
        One per campaign, in order.
    """
    import bw2data as bd

    refuse_foreign(bd.databases, database, "rename the sweep")
    first = None
    models = []
    for k, campaign in enumerate(progress_bar(campaigns, progress, "variants", unit="variant")):
        w = _writer(campaign, biosphere, foreground, None, like=first)
        w.db, w.prefix = database, f"v{k}-"
        if first is not None:
            w.data, w.linked = first.data, first.linked
        first = first or w
        models.append(compose(w))
    _write(first, {"format": "bw_aicompute sweep", "campaigns": [c.name for c in campaigns], "functional_units": [m.key[1] for m in models]})
    return models


def _register_parameters(bd, w: _Writer) -> None:
    """Make the campaign's formulas resolvable by Brightway (and Activity Browser): its formula
    exchanges are registered in activity groups of the databases whose parameters they name (the
    foreground's, or `aicompute-background`'s for a composed grid), so that
    `bw2data.parameters.recalculate()` runs and leaves every amount unchanged, an edit of a
    parameter there reaches the campaign, and Activity Browser's parameter Monte Carlo draws one
    value of each parameter for the foreground and the campaign alike (as `assess --iterations`
    does). The campaign database has no parameters of its own."""
    from bw2data.parameters import DatabaseParameter

    resolve: dict[str, set[str]] = {}
    for source in (w.foreground, "aicompute-background"):
        resolve[source] = {p.name for p in DatabaseParameter.select(DatabaseParameter.name).where(DatabaseParameter.database == source)}
    register_parameters(bd, InventoryDatabase(w.db, datasets=w.data, parameters={}), resolve=resolve)


def open_campaign(campaign: Campaign, foreground: str = "aicompute") -> CampaignModel:
    """The model of a campaign already written into the current project (by `assess` or
    `write_campaign`), read from its database: keys, GPU-hours and IT energy of its phases.

    Raises an error when the campaign is not (completely) written."""
    import bw2data as bd

    db = campaign.database_for(foreground)
    if not is_complete(bd.databases, db):
        raise AicomputeError(f"campaign {campaign.name!r} is not written in project {bd.projects.current!r}; assess it first")
    meta = bd.databases[db]
    codes: list[Any] = meta.get("phases") or []
    if len(codes) != len(campaign.phases):
        raise AicomputeError(f"campaign {campaign.name!r} in project {bd.projects.current!r} was written from another version of the file; assess it again")
    phases = []
    for p, code in zip(campaign.phases, codes):
        node = bd.get_node(database=db, code=code)
        months = {m: tuple(k) for m, k in (node.get("months") or {}).items()}
        phases.append(PhaseModel(phase=p, gpu_hours=float(node.get("gpu_hours", 0.0)), it_energy_kwh=float(node.get("it_energy_kwh", 0.0)), key=(db, code), months=months, hourly=node.get("hourly")))
    return CampaignModel(campaign=campaign, database=db, key=(db, meta.get("functional_unit", FUNCTIONAL_UNIT)), phases=phases, foreground=foreground)
