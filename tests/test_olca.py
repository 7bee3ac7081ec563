"""The openLCA export, read back with olca-schema's own reader: every dataset, exchange, amount,
unit, formula and parameter survives, product flows link to their providers, and elementary flows
keep their ecoinvent UUIDs."""

from pathlib import Path

import bw2data as bd
import olca_schema as o
import pytest
from bw2data.parameters import DatabaseParameter
from olca_schema import zipio

from bw_aicompute.cli import main
from bw_aicompute.olca import _id, olca_formula

EXAMPLES = Path(__file__).parents[1] / "examples"
DATABASES = ("aicompute-background", "aicompute")


@pytest.fixture
def package(ready_dir, tmp_path, capsys):
    out = tmp_path / "inventories.zip"
    assert main(["export-inventories", str(out)]) == 0
    assert "openLCA JSON-LD" in capsys.readouterr().out
    reader = zipio.ZipReader(str(out))
    yield reader
    reader.close()


def test_every_dataset_exchange_and_parameter_survives(package):
    processes = {pid: package.read_process(pid) for pid in package.ids_of(o.Process)}
    nodes = [ds for db in DATABASES for ds in bd.Database(db)]
    assert len(processes) == len(nodes)
    for ds in nodes:
        proc = processes[_id("process", ds["database"], ds["code"])]
        assert proc.name == ds["name"] and proc.location.name == ds["location"]
        excs = list(ds.exchanges())
        assert len(proc.exchanges) == len(excs)
        for exc, e in zip(excs, proc.exchanges):
            assert e.amount == pytest.approx(exc["amount"], rel=1e-12) and e.unit.name == exc.input["unit"]
            if exc.get("formula"):
                assert e.amount_formula == olca_formula(exc["formula"]) and "**" not in e.amount_formula
            if exc["type"] == "technosphere":
                provider = processes[e.default_provider.id]  # the provider is in the package
                reference = next(x for x in provider.exchanges if x.is_quantitative_reference)
                assert reference.flow.id == e.flow.id and e.is_input
            if exc["type"] == "biosphere":
                assert e.flow.id == exc.input["code"]  # the ecoinvent UUID
            if exc.get("uncertainty type", 0) > 1:
                assert e.uncertainty is not None
    params = {package.read_parameter(pid).name: package.read_parameter(pid) for pid in package.ids_of(o.Parameter)}
    ours = list(DatabaseParameter.select().where(DatabaseParameter.database.in_(["aicompute", "aicompute-background"])))
    assert len(params) == len(ours)
    for p in ours:
        assert params[p.name].value == pytest.approx(p.amount, rel=1e-9)
        assert (params[p.name].formula or None) == (olca_formula(p.formula) if p.formula else None)
    # a beta (median at the default, 5.75 in 4-6) has no openLCA type: the triangle of its range
    # whose median is nearest (mode at the upper bound)
    life = params["hw_lifetime_years"].uncertainty
    assert life.distribution_type == o.UncertaintyType.TRIANGLE_DISTRIBUTION and (life.minimum, life.mode, life.maximum) == (4, 6, 6)
    # a triangular keeps its range, its mode solved so that its median is the default
    evap = params["cooling_water_evaporated_share"].uncertainty
    assert evap.distribution_type == o.UncertaintyType.TRIANGLE_DISTRIBUTION
    assert evap.mode == pytest.approx(0.6 + 2 * (2 / 3) ** 2 * 0.3, rel=1e-9)


def test_campaign_with_its_supply_chain(ready_dir, tmp_path, capsys):
    out = tmp_path / "campaign.zip"
    assert main(["assess", str(EXAMPLES / "finetune_measured_ppa.yaml"), "--export-olca", str(out)]) == 0
    reader = zipio.ZipReader(str(out))
    names = {reader.read_process(pid).name for pid in reader.ids_of(o.Process)}
    params = [reader.read_parameter(pid) for pid in reader.ids_of(o.Parameter)]
    reader.close()
    # one global parameter per name: the foreground's, with its uncertainty (not the campaign's copy)
    assert len({p.name for p in params}) == len(params)
    assert next(p for p in params if p.name == "gpu_load_factor").uncertainty is not None
    assert any(name.startswith("campaign") or "fine-tuning" in name for name in names)
    assert "market for electricity, grid mix" in names
    # a zip in a folder that does not exist: one message, exit 2, nothing written
    assert main(["export-inventories", str(tmp_path / "missing" / "x.zip")]) == 2
    assert "aicompute: error:" in capsys.readouterr().err and not (tmp_path / "missing").exists()
