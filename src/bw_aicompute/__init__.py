"""bw_aicompute: open Brightway life cycle inventories for AI compute.

GPU servers, datacenter infrastructure and AI training activities as Brightway inventory
datasets, solved with standard LCIA methods for climate change, water and abiotic depletion.
"""

__version__ = "0.1.0"

from .errors import AicomputeError  # noqa: E402
from .project import SetupReport, setup_project  # noqa: E402

__all__ = ["AicomputeError", "SetupReport", "setup_project", "__version__"]
