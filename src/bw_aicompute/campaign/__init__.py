"""Training campaigns as functional units.

A campaign file (YAML, or the same content in an Excel workbook; see `examples/` and
`aicompute template`) describes the compute of a research effort: where it runs, on which
hardware, and its phases (pretraining, fine-tuning, ablations, failed runs, debugging,
evaluation, idle reservations...), each with GPU time and/or measured energy.

Modules: `schema` (types, kinds, stages, fields), `read` (a file into a validated `Campaign`),
`workbook` (the Excel layout), `write` (rendering the inventory templates into Brightway, and
opening what was written).
"""

from .read import parse_campaign, read_campaign
from .schema import KINDS, STAGES, Campaign, CampaignModel, Hardware, Override, Phase, PhaseModel, Site
from .write import open_campaign, write_campaign

__all__ = [
    "KINDS",
    "STAGES",
    "Campaign",
    "CampaignModel",
    "Hardware",
    "Override",
    "Phase",
    "PhaseModel",
    "Site",
    "open_campaign",
    "parse_campaign",
    "read_campaign",
    "write_campaign",
]
