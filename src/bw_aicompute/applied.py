"""The inputs a written campaign was assessed with, and where each comes from: the campaign file,
the facility profile it names, or the default of the inventories (a parameter of the foreground
database, with its source). Read by the text report (`Inputs applied`) and the results workbook
(sheet `Applied inputs`); reads the project, writes nothing."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .campaign import CampaignModel
from .campaign.read import profiles
from .campaign.write import hardware_overrides, phase_overrides
from .inventory import tables

FROM_FILE = "campaign file"
FROM_DEFAULT = "default"


def parameters(foreground: str) -> dict[str, tuple[float, str, str]]:
    """Name -> (value, source, unit) of every parameter of the foreground database, in one query."""
    from bw2data.parameters import DatabaseParameter

    query = DatabaseParameter.select().where(DatabaseParameter.database == foreground)
    return {p.name: (float(p.amount), (p.data or {}).get("source", ""), (p.data or {}).get("unit", "")) for p in query}


@dataclass
class Value:
    """One applied input: its value, unit, where it comes from and its source."""

    value: float
    unit: str
    origin: str
    source: str = ""


def parameter_value(params: dict, name: str, given: float | None, origin: str = FROM_DEFAULT) -> Value:
    """The value of parameter `name`: `given` by the campaign file, else the parameter's own."""
    value, source, unit = params.get(name, (float("nan"), "", ""))
    if given is not None:
        return Value(float(given), unit, FROM_FILE)
    return Value(value, unit, origin, source)


def site_values(model: CampaignModel, params: dict) -> dict[str, Value]:
    """PUE and WUE of the campaign's site: the file's, else its facility profile's parameter."""
    site = model.campaign.site
    profile = profiles()[site.profile]
    origin = f"profile {site.profile}"
    wue = parameter_value(params, profile["wue"], site.wue_l_per_kwh, origin)
    withdrawal = site.wue_basis == "withdrawal" if site.wue_basis else bool(params.get(profile["wue_withdrawal"], (0.0,))[0])
    wue.unit = "L per kWh of IT energy, " + ("withdrawal" if withdrawal else "consumption")
    return {"PUE": parameter_value(params, profile["pue"], site.pue, origin), "WUE": wue}


def year_source(code: str, year: int | None) -> str:
    """The source of a country's generation mix of `year` (None: its latest), as the
    inventories state it: the row's own source, the US's states summed (EIA-923 via Ember) for a
    US year without a dataset, else Our World in Data / Ember."""
    from .campaign.read import dataset_years

    if year is not None and year not in dataset_years(code) and code == "US":
        return "EIA-923 net generation of the 50 states and DC, Ember"
    row = next((r for r in tables().get("grid_country_years", []) if r["iso2"] == code and r["year"] == year), {})
    return row.get("src", "Our World in Data / Ember")


def grid_description(code: str, year: int | None = None, scenario=None) -> str:
    """The grid of a campaign and the year of its generation mix (`year`: an earlier year the
    campaign chose, site.grid_year), as the inventories state it; or the planned mix of
    `scenario` (site.grid_scenario)."""
    if scenario is not None:
        shares = ", ".join(f"{t} {v:.0%}" for t, v in sorted(scenario.shares.items(), key=lambda kv: -kv[1]) if v)
        return f"{code}, planned mix {scenario.name!r} ({scenario.year}, site.grid_scenario {scenario.path.name}): {shares}; {scenario.source}"
    t = tables()
    country = next((r for r in t["grid_countries"] if r["iso2"] == code), None)
    if country is not None:
        chosen = f"{year} (site.grid_year; latest {country['year']})" if year is not None else f"{country['year']}"
        return f"{code} ({country['country']}), generation mix of {chosen} ({year_source(code, year)})"
    state = next((r for r in t.get("grid_us_states", []) if r["state"] == code), None)
    if state is not None:
        chosen = f"{year} (site.grid_year; its dataset 2023)" if year is not None else "2023"
        return f"{code} ({state['label']}), generation mix of {chosen} (EIA-923 net generation by state, Ember)"
    province = next((r for r in t.get("grid_ca_provinces", []) if r["province"] == code), None)
    if province is not None:
        return f"{code} ({province['label']}), provincial generation shares (year not stated by the source)"
    return f"{code}, world generation mix (sum of the countries' latest years, mostly 2023)" if code == "GLO" else code


def linked_grid_text(campaign, foreground: str) -> str | None:
    """The grid of a site whose campaign is written against a linked foreground (ecoinvent,
    USLCI) without a year or a planned mix: the linked database's grid where the mapping
    replaced the site's, else the open grid it kept; None where the campaign fixes its grid."""
    from .campaign.write import linked_providers

    site = campaign.site
    if foreground == "aicompute" or site.year_stated or site.grid_scenario is not None:
        return None
    new = linked_providers(foreground).get(f"aicompute-background:electricity-grid-{site.country}")
    if new is None:
        return f"{grid_description(site.country)}: the open grid, which the linked foreground {foreground} keeps (not in its mapping)"
    import bw2data as bd

    node = bd.get_node(database=new[0][0], code=new[0][1])
    return f"{site.country}: {node['name'].strip()!r} of {new[0][0]}, as the linked foreground {foreground} replaces the open grid"


def site_grid_text(campaign, foreground: str = "aicompute") -> str:
    """The grid of a campaign's site as the report states it: its description, and what the
    campaign file leaves open (the year, the state) with how the tool treats it."""
    from .campaign.write import open_grid

    site = campaign.site
    linked = linked_grid_text(campaign, foreground)
    if linked is not None:
        return linked
    text = grid_description(site.country, site.grid_year, site.grid_scenario)
    og = open_grid(campaign)
    if og is None:
        return text
    if og.what == "year":
        years = ", ".join(label for _, _, label in og.candidates)
        return f"{text.split(', generation mix of')[0]}, year not given (site.grid_year): the mean of the mixes of {years}; Monte Carlo draws one year per iteration"
    top = sorted(og.candidates, key=lambda c: -c[1])
    shares = ", ".join(f"{code.split('-')[1]} {p:.0%}" for code, p, _ in top[:4])
    return (f"{text.split(' (')[0]}, state not given: the {len(top)} states with data centres weighted by their electricity use in 2023 "
            f"(EPRI 2024; {shares}...), each state's own mix; Monte Carlo draws one state per iteration")


@dataclass
class Power:
    """The power of one GPU-hour of the power model, as applied to the phases that share it."""

    gpu: str
    phases: list[str]
    rated: Value
    load_factor: Value
    node_share: Value
    node_overhead: Value
    host_share: Value  # the accelerator's share of node_share (0: its rated power has its host CPU)
    applied_w: float  # what the written phases carry: IT energy / GPU-hours

    @property
    def it_w(self) -> float:
        """IT power per GPU (W): rated power x load factor x (1 + node overhead share x the
        accelerator's host share) + fixed node overhead per GPU."""
        return self.rated.value * self.load_factor.value * (1 + self.node_share.value * self.host_share.value) + self.node_overhead.value


def power_per_gpu_hour(model: CampaignModel, params: dict) -> list[Power]:
    """The power model of every group of modelled phases with the same GPU and power inputs
    (phases with measured energy or extra energy are left out: the model does not apply to them)."""
    groups: dict[tuple, Power] = {}
    for pm in model.phases:
        p = pm.phase
        if p.energy_kwh is not None or p.measured_gpu_kwh is not None or p.extra_energy_kwh or not pm.gpu_hours:
            continue
        own = phase_overrides(p)
        key = (p.gpu, own.get("gpu_load_factor"), own.get("node_overhead_w_per_gpu"), own.get("node_overhead_share"))
        if key not in groups:
            groups[key] = Power(
                gpu=p.gpu, phases=[],
                rated=parameter_value(params, f"{p.gpu}_tdp_w", None),
                load_factor=parameter_value(params, "gpu_load_factor", key[1]),
                node_share=parameter_value(params, "node_overhead_share", key[3]),
                node_overhead=parameter_value(params, "node_overhead_w_per_gpu", key[2]),
                host_share=parameter_value(params, f"{p.gpu}_host_share", None),
                applied_w=pm.it_energy_kwh / pm.gpu_hours * 1000,
            )
        groups[key].phases.append(p.name)
    return list(groups.values())


def override_texts(campaign) -> list[tuple[str, str]]:
    """(what, text) of each embodied override of the campaign: the indicators it gives, with
    its figures and source, and those that keep the bottom-up inventory's figure."""
    hw, out = campaign.hardware, []
    for what, o in (("GPU card", hw.gpu_embodied), ("server (without GPUs)", hw.server_embodied)):
        if o is None:
            continue
        given = [f"climate {o.kg_co2e:,.4g} kg CO2-eq"] + ([f"water {o.water_m3:,.4g} m3"] if o.water_m3 is not None else []) + ([f"ADP {o.kg_sb_eq:,.4g} kg Sb-eq"] if o.kg_sb_eq is not None else [])
        kept = [n for n, v in (("water", o.water_m3), ("mineral depletion", o.kg_sb_eq)) if v is None] + ["energy and the other indicators"]
        out.append((what, f"{', '.join(given)} per unit (campaign file; {o.source or 'no source given'}); {', '.join(kept)}: bottom-up (inventories)"))
    return out


def applied_inputs(model: CampaignModel) -> pd.DataFrame:
    """Every value the campaign was assessed with and where it comes from: the campaign file, the
    facility profile, or the default of the foreground database (with its source).

    Returns
    -------
    DataFrame
        input, value, unit, from, source.
    """
    c, params = model.campaign, parameters(model.foreground)
    rows = [{"input": "grid (site.country)", "value": c.site.country, "unit": "", "from": FROM_FILE, "source": site_grid_text(c, model.foreground)}]
    for label, v in site_values(model, params).items():
        rows.append({"input": label, "value": v.value, "unit": v.unit, "from": v.origin, "source": v.source})
    if c.site.grid_kg_co2e_per_kwh is not None:
        rows.append({"input": "grid override", "value": c.site.grid_kg_co2e_per_kwh, "unit": "kg CO2-eq per kWh", "from": FROM_FILE, "source": c.site.grid_source})
    for what, text in override_texts(c):
        rows.append({"input": f"{what} embodied override", "value": "", "unit": "", "from": FROM_FILE, "source": text})
    given = hardware_overrides(c, c.hardware.gpu)
    for name in ("hw_lifetime_years", "utilisation", "switches_per_gpu", "storage_tb_per_gpu", f"{c.hardware.gpu}_gpus_per_node", f"{c.hardware.gpu}_tdp_w"):
        v = parameter_value(params, name, given.get(name))
        rows.append({"input": name, "value": v.value, "unit": v.unit, "from": v.origin, "source": v.source})
    for pm in model.phases:
        own = phase_overrides(pm.phase)
        for name in ("gpu_load_factor", "node_overhead_share", "node_overhead_w_per_gpu"):
            v = parameter_value(params, name, own.get(name))
            rows.append({"input": f"{name} ({pm.phase.name})", "value": v.value, "unit": v.unit, "from": v.origin, "source": v.source})
    return pd.DataFrame(rows)
