"""Command line: `aicompute COMMAND ...` (also `python -m bw_aicompute`).

Exit status: 0 on success, 2 on a problem with the input or the project (one message on stderr,
no traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from . import __version__
from .errors import AicomputeError
from .project import DEFAULT_PROJECT


def _project_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        default=DEFAULT_PROJECT,
        metavar="NAME",
        help=f"Brightway project (default: {DEFAULT_PROJECT}); data directory: BRIGHTWAY2_DIR when set",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aicompute",
        description="Open Brightway inventories and LCA of AI compute (GPUs, servers, datacenters, training).",
    )
    parser.add_argument("--version", action="version", version=f"bw_aicompute {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("setup", help="create or complete the Brightway project (offline, idempotent)")
    _project_arg(p)
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("status", help="list what is installed in the project")
    _project_arg(p)
    p.set_defaults(func=cmd_status)
    return parser


def cmd_setup(args: argparse.Namespace) -> int:
    from .project import setup_project

    report = setup_project(args.project)
    if not args.quiet:
        print(report.summary())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .methods import OWNER_KEY, find_method, indicators
    from .project import _bd, find_biosphere

    bd = _bd()
    if args.project not in bd.projects:
        raise AicomputeError(f"project {args.project!r} does not exist; run: aicompute setup --project {args.project}")
    bd.projects.set_current(args.project)
    print(f"Project {args.project!r} in {bd.projects.dir}")
    print(f"Biosphere: {find_biosphere(bd) or '(none)'}")
    print("Databases:")
    for name in sorted(bd.databases):
        meta = bd.databases[name]
        owner = "bw_aicompute" if OWNER_KEY in meta else "user"
        print(f"  {name:<32} {meta.get('number', 0):>6} datasets  [{owner}]")
    print("Indicators:")
    for ind in indicators().values():
        found = find_method(ind.method, bd.methods)
        if found:
            unit = bd.methods[found].get("unit", "")
            cfs = bd.methods[found].get("num_cfs", 0)
            print(f"  {ind.name:<18} {' | '.join(found)}  [{unit}, {cfs} CFs]")
        else:
            print(f"  {ind.name:<18} {' | '.join(ind.method)}  [NOT INSTALLED: run aicompute setup]")
    print(f"Methods installed in the project: {len(bd.methods)}")
    return 0


def _quiet_brightway() -> None:
    """Keep Brightway's progress bars and informational logging out of the command's output."""
    os.environ.setdefault("BRIGHTWAY_NO_STRUCTLOG", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    # bw2data (re)sets this logger's level at import, so a filter is used instead of a level
    logging.getLogger("brightway-stdout-feedback").addFilter(lambda record: record.levelno >= logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_brightway()
    try:
        return args.func(args)
    except AicomputeError as exc:
        print(f"aicompute: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aicompute: interrupted", file=sys.stderr)
        return 130
