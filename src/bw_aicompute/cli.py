"""Command line: `aicompute COMMAND ...` (also `python -m bw_aicompute`).

Exit status: 0 on success, 2 on a problem with the input or the project (one message on stderr,
no traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ._version import __version__
from ._resources import atomic_write, csv_safe, ecoinvent_versions, output_path, write_json
from .errors import AicomputeError
from .ownership import JOURNAL
from .project import DEFAULT_PROJECT, open_project


def _project_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        default=DEFAULT_PROJECT,
        metavar="NAME",
        help=f"Brightway project (default: {DEFAULT_PROJECT}); data directory: BRIGHTWAY2_DIR when set",
    )


def _force_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="replace output files that exist (never an input of the command)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `aicompute` and its subcommands."""
    VERSIONS = ecoinvent_versions()

    parser = argparse.ArgumentParser(
        prog="aicompute",
        description="Open Brightway inventories and LCA of AI compute (GPUs, servers, datacenters, training).",
    )
    parser.add_argument("--version", action="version", version=f"bw_aicompute {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("setup", help="create or complete the Brightway project (offline, idempotent)")
    _project_arg(p)
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.add_argument("--reinstall", action="store_true", help="restore the shipped inventories over databases imported from a workbook")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("status", help="list what is installed in the project")
    _project_arg(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("datasets", help="list the datasets of the bw_aicompute databases")
    _project_arg(p)
    p.add_argument("--database", help="only this database (aicompute or aicompute-background)")
    p.add_argument("--search", metavar="TEXT", help="only datasets whose name contains TEXT")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("show", help="show a dataset's exchanges with their sources")
    p.add_argument("dataset", help='dataset name (e.g. "GPU-hour, H100 SXM 80GB, FR") or code')
    _project_arg(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("assess", help="assess a training campaign file (YAML or Excel)")
    p.add_argument("campaign", help="campaign file (.yaml or .xlsx); see examples/")
    _indicator_args(p)
    p.add_argument("--json", metavar="FILE", help="write the results as JSON ('-': to standard output, instead of the report)")
    p.add_argument("--excel", metavar="FILE", help="write the results, inputs and inventory as an Excel workbook")
    p.add_argument("--export-olca", metavar="OUT.zip", help="write the campaign and its supply chain as an openLCA JSON-LD package")
    p.add_argument("--plot", metavar="FILE.png|svg|pdf", help="write stacked bars by stage, one bar per phase (error bars with --iterations)")
    p.add_argument("--timex", action="store_true", help="also a time-explicit LCA of the climate indicator with bw_timex (the [timex] extra): static and dynamic scores, by year")
    p.add_argument("--by", choices=("phase", "month"), default="phase", help="month: the plot shows the results by month of the dated phases (start, end); the report always has its By month table for them")
    p.add_argument("--iterations", type=int, default=0, metavar="N", help="Monte Carlo iterations (exchange and parameter distributions); default 0")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed of the Monte Carlo (same seed, same numbers)")
    p.add_argument("--processes", type=int, default=1, metavar="P", help="split the iterations over P worker processes")
    p.add_argument("--dask", metavar="ADDRESS", help="run the Monte Carlo chunks on a Dask cluster (scheduler address, or 'local'; needs the [dask] extra)")
    p.add_argument("--replace", action="store_true", help="replace a campaign of the same name written from another file")
    p.add_argument("--no-formulas", action="store_true", help="write the campaign's exchanges as numbers, without formulas: fast Monte Carlo in Activity Browser with its parameters off, but the parameter distributions no longer reach the campaign")
    p.add_argument("--format", choices=("text", "markdown", "csv"), default="text", help="print the report (text, default) or its tables as markdown or CSV")
    p.add_argument("--sensitivity-plot", metavar="FILE.png", help="with --iterations: bars of the inputs that drive each indicator")
    p.add_argument("--per", metavar="UNIT", help="with a deployment: results per 'request', '1000 tokens', 'hour of audio' or 'image' (one the deployment serves; default its unit); with `model:` (SCI for AI, the training campaign): per 'parameter', 'training token' or 'PFLOP'")
    _background_args(p)
    _project_arg(p)
    _force_arg(p)
    p.set_defaults(func=cmd_assess)

    _sweep_parser(sub)
    _slurm_parser(sub)

    p = sub.add_parser("compare", help="campaign files side by side: totals and stages, differences, paired uncertainty")
    p.add_argument("campaigns", nargs="+", metavar="CAMPAIGN", help="two or more campaign files; the first is the reference")
    _indicator_args(p)
    p.add_argument("--iterations", type=int, default=0, metavar="N", help="paired Monte Carlo iterations for the uncertainty of the differences")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed")
    p.add_argument("--json", metavar="FILE", help="write the comparison as JSON ('-': to standard output, instead of the table)")
    p.add_argument("--excel", metavar="FILE", help="write the comparison as an Excel workbook")
    p.add_argument("--plot", metavar="FILE.png|svg|pdf", help="bars by stage per campaign, one panel per indicator")
    _background_args(p)
    _project_arg(p)
    _force_arg(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("list", help="the choices of a campaign file: gpus (the accelerators: GPUs, GH200, TPUs), countries, profiles, kinds, indicators, parameters")
    p.add_argument("what", choices=("gpus", "countries", "profiles", "kinds", "indicators", "parameters"))
    p.add_argument("--year", type=int, metavar="YEAR", help="countries: the generation mix of that year (site.grid_year), with its shares by source; the US states in any year 2001-2024")
    p.add_argument("--format", choices=("text", "markdown", "csv"), default="text", help="how the table is printed (default: text)")
    p.add_argument("--json", metavar="FILE", help="write the table as JSON ('-': to standard output, instead of the table)")
    _project_arg(p)
    _force_arg(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("link-ecoinvent", help="link a copy of the foreground to a licensed ecoinvent database")
    p.add_argument("--database", required=True, metavar="NAME", help="the ecoinvent database in the project (e.g. ecoinvent-3.10-cutoff)")
    p.add_argument("--version", metavar="|".join(VERSIONS), help="ecoinvent release (default: read from the database name)")
    _link_args(p)
    p.set_defaults(func=cmd_link_ecoinvent)

    p = sub.add_parser("link-uslci", help="import the US LCI database (openLCA JSON-LD) and link a copy of the foreground to it")
    p.add_argument("--source", metavar="FOLDER|ZIP", help="USLCI's uslci_olca1_5_0_json_ld folder or a zip of it (needed the first time)")
    _link_args(p)
    p.set_defaults(func=cmd_link_uslci)

    p = sub.add_parser("telemetry", help="energy of a GPU power log (nvidia-smi, amd-smi, rocm-smi, DCGM exporter, Zeus, CodeCarbon or plain CSV)")
    p.add_argument("file", help="log file")
    p.add_argument("--start", metavar="T", help="start of the window, ISO 8601 (e.g. 2026-11-26T03:52:30)")
    p.add_argument("--end", metavar="T", help="end of the window, ISO 8601")
    p.add_argument("--gap-seconds", type=float, default=5.0, metavar="S", help="longer intervals between samples are gaps, not integrated (default 5)")
    p.add_argument("--active-watts", type=float, metavar="W", help="power above which a GPU counts as active (default: 30%% of its power limit)")
    p.add_argument("--json", metavar="OUT", help="write the summary as JSON ('-': to standard output, instead of the report)")
    _force_arg(p)
    p.set_defaults(func=cmd_telemetry)

    p = sub.add_parser("record", help="run a command while logging GPU power (needs nvidia-ml-py and a GPU)")
    p.add_argument("--out", required=True, metavar="LOG.csv", help="log to write (plain CSV: timestamp,gpu,power_w,energy_j)")
    p.add_argument("--interval", type=float, default=0.1, metavar="S", help="sampling interval in seconds (default 0.1)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")
    _force_arg(p)
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("export-inventories", help="write the inventories as an Excel workbook in bw2io's format, or an openLCA JSON-LD zip")
    p.add_argument("out", metavar="OUT.xlsx|OUT.zip")
    p.add_argument("--format", choices=("xlsx", "olca"), help="xlsx (bw2io workbook) or olca (openLCA JSON-LD zip); default: from the file's suffix")
    p.add_argument("--campaign", metavar="CAMPAIGN", help="also the campaign of this file (YAML or Excel), written as `assess` writes it")
    _project_arg(p)
    _force_arg(p)
    p.set_defaults(func=cmd_export_inventories)

    p = sub.add_parser("export-datapackage", help="write the inventories and the indicators' methods as bw_processing datapackages (a citable release)")
    p.add_argument("folder", metavar="FOLDER", help="folder to write into (created)")
    p.add_argument("--campaign", metavar="CAMPAIGN", help="also the campaign of this file (YAML or Excel), written as `assess` writes it")
    _project_arg(p)
    _force_arg(p)
    p.set_defaults(func=cmd_export_datapackage)

    p = sub.add_parser("export-project", help="write a Brightway project archive of the shipped inventories (bw2io.backup.restore_project_directory restores it)")
    p.add_argument("out", metavar="OUT.tar.gz")
    _force_arg(p)
    p.set_defaults(func=cmd_export_project)

    p = sub.add_parser("import-inventories", help="validate and install an edited inventory workbook")
    p.add_argument("workbook", metavar="EDITED.xlsx")
    _project_arg(p)
    p.set_defaults(func=cmd_import_inventories)

    p = sub.add_parser("template", help="write a blank campaign workbook (Excel)")
    p.add_argument("out", metavar="OUT.xlsx")
    _force_arg(p)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("validate", help="set our results beside published studies (validation report)")
    p.add_argument(
        "--project",
        default="aicompute-validation",
        metavar="NAME",
        help="the validation's own project, set up from the shipped inventories (default: aicompute-validation); your projects are not written",
    )
    p.add_argument("--out", metavar="FILE.md|FILE.csv", help="write the report as Markdown or CSV")
    _force_arg(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("tables", help="print the documentation tables (GPU-hours per site, hardware) as markdown")
    _project_arg(p)
    p.add_argument("--sites", default="FR,US,DE,GLO", help="comma-separated sites (default: FR,US,DE,GLO)")
    p.add_argument(
        "--update-readme",
        metavar="FILE",
        help="write the tables into FILE between the lines <!-- tables:start --> and <!-- tables:end -->",
    )
    p.set_defaults(func=cmd_tables)
    return parser


def _indicator_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--indicator", action="append", metavar="NAME", help="indicator name (repeatable; default: climate, water, adp_minerals)")
    p.add_argument("--method", action="append", metavar='"A | B | C"', help="any installed Brightway method, parts joined by ' | ' (repeatable)")


def _link_args(p: argparse.ArgumentParser) -> None:
    """The options of both linking commands: the report file, the project, --force."""
    p.add_argument("--report", metavar="FILE.csv", help="write the linking report (every replaced and kept exchange)")
    _project_arg(p)
    _force_arg(p)


def _background_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--background", choices=("open", "ecoinvent", "uslci"), default="open", help="open background (default) or the foreground linked to ecoinvent or to USLCI")
    p.add_argument("--ecoinvent-database", metavar="NAME", help="with --background ecoinvent: which linked ecoinvent database")


def _indicators_and_methods(args: argparse.Namespace) -> tuple[list[str], list[tuple[str, ...]]]:
    """The indicators (checked; the default three when neither is given) and method tuples."""
    from .methods import DEFAULT_INDICATORS, resolve_indicator

    indicators = args.indicator or ([] if args.method else list(DEFAULT_INDICATORS))
    for name in indicators:
        resolve_indicator(name)
    return indicators, [tuple(part.strip() for part in m.split("|")) for m in (args.method or [])]


def _slurm_parser(sub) -> None:
    p = sub.add_parser("from-slurm", help="campaign files from SLURM accounting (sacct --parsable2 --allocations) and classification rules")
    p.add_argument("sacct", metavar="SACCT.txt", help="output of: sacct --allusers --parsable2 --allocations --format=JobID,JobName,User,Account,Partition,State,Start,End,Elapsed,AllocTRES,NNodes,Comment,WCKey")
    p.add_argument("--rules", required=True, metavar="RULES.yaml", help="classification rules (see examples/slurm/rules.yaml)")
    p.add_argument("--by", choices=("account", "user", "project", "partition", "qos", "month"), help="one campaign per group (assessed together with --assess, with the total of the groups)")
    p.add_argument("--from", dest="start", metavar="DATE", help="keep jobs started on or after DATE (YYYY-MM-DD, UTC)")
    p.add_argument("--to", dest="end", metavar="DATE", help="keep jobs started before DATE")
    p.add_argument("--out", required=True, metavar="CAMPAIGN.yaml|FOLDER", help="the campaign file to write (with --by: a folder, one file per group)")
    p.add_argument("--assess", action="store_true", help="assess what was written (with --by: as one sweep)")
    _indicator_args(p)
    p.add_argument("--iterations", type=int, default=0, metavar="N", help="with --assess: Monte Carlo iterations (one campaign)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed")
    p.add_argument("--excel", metavar="FILE", help="with --by --assess: every group's footprint and their total as a workbook")
    p.add_argument("--plot", metavar="FILE.png|svg|pdf", help="with --by --assess: plot every group's footprint (the 15 largest and the others summed)")
    _project_arg(p)
    _force_arg(p)
    p.set_defaults(func=cmd_from_slurm)


def cmd_from_slurm(args: argparse.Namespace) -> int:
    """`aicompute from-slurm`: classify the accounting, write the campaign file(s), assess them."""
    from .slurm import from_slurm, write_campaign_files

    indicators, methods = _indicators_and_methods(args) if args.assess or args.indicator or args.method else ([], [])
    if (args.excel or args.plot) and not (args.by and args.assess):
        raise AicomputeError("--excel and --plot go with --by and --assess (one campaign per group, assessed together)")
    for out in (args.excel, args.plot):
        if out:
            output_path(out, inputs=[args.sacct, args.rules], force=args.force)
    accounting = from_slurm(args.sacct, args.rules, by=args.by, start=args.start, end=args.end)
    paths = write_campaign_files(accounting, Path(args.out), several=args.by is not None, force=args.force, inputs=[args.sacct, args.rules])
    print(accounting.report())
    listed = ", ".join(str(p) for p in paths) if len(paths) <= 10 else f"{len(paths):,} campaign files in {Path(args.out)}: {paths[0].name} ... {paths[-1].name}"
    print("\nwrote " + listed)
    if args.assess and args.by:
        from .sweeps import sweep

        result = sweep(paths, [], indicators, methods, args.project, name=f"{Path(args.sacct).stem} by {args.by}")
        print("\n" + result.summary(total=True))
        for out, write in ((args.excel, lambda f: result.to_excel(f, total=True)), (args.plot, result.plot)):
            if out:
                write(out)
                print(f"wrote {out}")
    elif args.assess:
        from .assessment import assess

        print("\n" + assess(paths[0], indicators, methods, args.project, iterations=args.iterations, seed=args.seed, replace=True).summary())
    return 0


def _sweep_parser(sub) -> None:
    p = sub.add_parser("sweep", help="assess variants of campaigns (GPU model, country, PUE...) in one database and one solve")
    p.add_argument("campaigns", nargs="+", metavar="CAMPAIGN", help="campaign files (.yaml, .xlsx) or folders of them")
    p.add_argument("--vary", action="append", default=[], metavar="FIELD=V1,V2", help="a field of the campaign file and its values (repeatable; every combination is a variant), e.g. site.country=FR,US,DE or phases.*.hours=100,200")
    _indicator_args(p)
    p.add_argument("--name", help="name of the sweep (default: the campaign's; needed for several files)")
    p.add_argument("--json", metavar="FILE", help="write the table as JSON ('-': to standard output, instead of the table)")
    p.add_argument("--excel", metavar="FILE", help="write the table as an Excel workbook")
    p.add_argument("--plot", metavar="FILE.png|svg|pdf", help="plot every variant's footprint (the 15 largest and the others summed, per indicator)")
    p.add_argument("--dask", metavar="ADDRESS", help="solve batches of variants on a Dask cluster (scheduler address, or 'local')")
    _background_args(p)
    _project_arg(p)
    _force_arg(p)
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    """`aicompute sweep`: assess every variant; print the table and write it."""
    from .sweeps import parse_vary, sweep

    variations = [parse_vary(v) for v in args.vary]
    indicators, methods = _indicators_and_methods(args)
    for out in (args.json, args.excel, args.plot):
        if out and out != "-":
            output_path(out, inputs=args.campaigns, force=args.force)
    result = sweep(args.campaigns, variations, indicators, methods, args.project, args.background, args.ecoinvent_database, name=args.name, dask=args.dask, progress=not args.json)
    if args.json == "-":
        return _json_out("-", result.to_dict())
    print(result.summary())
    for out, write in ((args.json, result.to_json), (args.excel, result.to_excel), (args.plot, result.plot)):
        if out:
            write(out)
            print(f"wrote {out}")
    return 0


def reference_markdown() -> str:
    """The command-line reference (docs/reference/cli.md): every command's help, 100 columns."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parts = ["# Command-line reference", "", "Generated from the commands' `--help` (a test keeps it current).", "", "```", parser.format_help().rstrip(), "```"]
        for name, p in sub.choices.items():
            parts += ["", f"## aicompute {name}", "", "```", p.format_help().rstrip(), "```"]
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts) + "\n"


def cmd_compare(args: argparse.Namespace) -> int:
    """`aicompute compare`: campaign files side by side."""
    from .comparison import compare

    indicators, methods = _indicators_and_methods(args)
    if args.iterations < 0:
        raise AicomputeError("--iterations must be zero or more")
    if args.plot and not args.plot.lower().endswith((".png", ".svg", ".pdf")):
        raise AicomputeError(f"{args.plot}: plots are written as PNG, SVG or PDF; name it FILE.png, FILE.svg or FILE.pdf")
    for out in (args.json, args.excel, args.plot):
        if out and out != "-":
            output_path(out, inputs=args.campaigns, force=args.force)
    result = compare(args.campaigns, indicators, methods, args.project, args.iterations, args.seed, args.background, args.ecoinvent_database)
    if args.json == "-":
        return _json_out("-", result.to_dict())
    print(result.summary())
    for out, write in ((args.json, result.to_json), (args.excel, result.to_excel), (args.plot, result.plot)):
        if out:
            write(out)
            print(f"wrote {out}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """`aicompute list`: every choice of one kind with its main figures and source."""
    from .catalog import choices, formatted
    from .setup import setup_project

    if args.json and args.json != "-":
        output_path(args.json, force=args.force)
    if args.what != "kinds":
        setup_project(args.project)
    df = choices(args.what, args.year)
    if args.json:
        return _json_out(args.json, df.to_dict(orient="records"))
    print(formatted(df, args.format))
    return 0


def _json_out(path: str, document) -> int:
    """Write `document` as JSON to `path`, or to standard output for `-`."""
    from ._resources import json_text

    if path == "-":
        print(json_text(document))
    else:
        write_json(path, document)
        print(f"wrote {path}")
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    """`aicompute assess`: validate, write and solve a campaign file; print and write the results."""
    from .assessment import assess
    from .campaign import read_campaign

    campaign = read_campaign(args.campaign)  # nothing is written before the file passes
    indicators, methods = _indicators_and_methods(args)
    for out in (args.plot, args.sensitivity_plot):
        if out and not out.lower().endswith((".png", ".svg", ".pdf")):
            raise AicomputeError(f"{out}: plots are written as PNG, SVG or PDF; name it FILE.png, FILE.svg or FILE.pdf")
    if args.sensitivity_plot and args.iterations < 3:
        raise AicomputeError("--sensitivity-plot needs --iterations (3 or more)")
    if args.by == "month" and not any(p.months for p in campaign.phases):
        raise AicomputeError(f"{args.campaign}: --by month needs phases with dates (start and end); none has")
    if args.iterations < 0 or args.processes < 1:
        raise AicomputeError("--iterations must be zero or more and --processes at least 1")
    for out in (args.json, args.excel, args.plot, args.sensitivity_plot, args.export_olca):
        if out and out != "-":
            output_path(out, inputs=[args.campaign, *campaign.files], force=args.force)
    result = assess(
        campaign,
        indicators=indicators,
        methods=methods,
        project=args.project,
        background=args.background,
        ecoinvent_database=args.ecoinvent_database,
        iterations=args.iterations,
        seed=args.seed,
        processes=args.processes,
        progress=not args.json,
        dask=args.dask,
        replace=args.replace,
        per=args.per,
        timex=args.timex,
        formulas=not args.no_formulas,
    )
    if args.json == "-":  # the JSON alone on standard output
        return _json_out("-", result.to_dict())
    print(result.summary() if args.format == "text" else result.tables(args.format))
    if args.json:
        result.to_json(args.json)
        print(f"\nwrote {args.json}")
    if args.excel:
        result.to_excel(args.excel)
        print(f"wrote {args.excel}")
    if args.plot:
        result.plot(args.plot, by=args.by)
        print(f"wrote {args.plot}")
    if args.export_olca:
        counts = result.to_olca(args.export_olca)
        print(f"wrote {args.export_olca} (openLCA JSON-LD: {counts['processes']} processes)")
    if args.sensitivity_plot:
        result.plot_sensitivity(args.sensitivity_plot)
        print(f"wrote {args.sensitivity_plot}")
    return 0


def cmd_telemetry(args: argparse.Namespace) -> int:
    """`aicompute telemetry`: energy of a GPU power log."""
    from .telemetry import read_log

    if args.json and args.json != "-":
        output_path(args.json, inputs=[args.file], force=args.force)
    summary = read_log(args.file, start=args.start, end=args.end, gap_seconds=args.gap_seconds, active_watts=args.active_watts)
    if args.json == "-":
        return _json_out("-", summary.to_dict())
    print(summary.report())
    return _json_out(args.json, summary.to_dict()) if args.json else 0


def cmd_record(args: argparse.Namespace) -> int:
    """`aicompute record`: run a command while logging GPU power with NVML; returns its exit status."""
    from .telemetry import read_log, record

    command = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    output_path(args.out, force=args.force)
    status = record(args.out, command, interval_s=args.interval)
    summary = read_log(args.out)
    print(summary.report())
    if summary.energy_counter_kwh is not None and summary.energy_kwh > 0:
        diff = summary.energy_counter_kwh / summary.energy_kwh - 1
        print(f"energy counter vs integrated power: {diff:+.1%}")
    return status


def cmd_export_inventories(args: argparse.Namespace) -> int:
    """`aicompute export-inventories`: the inventories (with a campaign's) as a workbook in
    bw2io's layout with the indicators' methods beside it, or as an openLCA JSON-LD package."""
    from .excel.inventories import SHIPPED, export_inventories
    from .water import LOCATED_DB

    fmt = args.format or ("olca" if args.out.lower().endswith(".zip") else "xlsx")
    inputs = [args.campaign] if args.campaign else []
    out = output_path(args.out, inputs=inputs, force=args.force)
    methods = out.with_name(out.stem + "-methods")
    if fmt == "xlsx" and methods.exists():
        if not methods.is_dir():
            raise AicomputeError(f"{methods}: is not a folder; the methods are written there")
        for name in _method_files():
            output_path(methods / name, inputs=inputs, force=args.force)
    databases = [*SHIPPED]
    if args.campaign:
        databases.append(_written_campaign(args))
    _open(args.project)
    if fmt == "olca":
        from .olca import export_olca

        counts = export_olca(out, databases)
        print(f"wrote {out} (openLCA JSON-LD: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + ")")
        return 0
    from .excel.lcia import export_methods

    sheets = export_inventories(out, (LOCATED_DB, *databases))
    files = export_methods(methods)
    print(f"wrote {out} (sheets: {', '.join(sheets)}; one bw2io database per sheet)")
    print(f"wrote {methods}/ ({len(files) - 1} methods for bw2io's ExcelLCIAImporter, listed in {files[-1].name})")
    return 0


def cmd_export_datapackage(args: argparse.Namespace) -> int:
    """`aicompute export-datapackage`: bw_processing datapackages of the inventories (and a
    campaign) and of the indicators' methods."""
    from .excel.inventories import SHIPPED
    from .methods import indicators
    from .release import export_datapackages

    folder = Path(args.folder)
    if folder.exists() and not folder.is_dir():
        raise AicomputeError(f"{folder}: is not a folder")
    names = ["bw_aicompute-inventories.zip", *(f"bw_aicompute-method-{n}.zip" for n in indicators())]
    for name in names:
        if folder.is_dir():
            output_path(folder / name, inputs=[args.campaign] if args.campaign else [], force=args.force)
    databases = [*SHIPPED] + ([_written_campaign(args)] if args.campaign else [])
    _open(args.project)
    files = export_datapackages(folder, databases)
    print(f"wrote {len(files)} datapackages in {folder}: {files[0].name} (matrices of {', '.join(databases)}) and {len(files) - 1} methods")
    return 0


def cmd_export_project(args: argparse.Namespace) -> int:
    """`aicompute export-project`: a Brightway project archive of the shipped inventories."""
    from .release import export_project_archive

    out = output_path(args.out, force=args.force)
    if not out.name.endswith(".tar.gz"):
        raise AicomputeError(f"{out}: a project archive is a .tar.gz; name it OUT.tar.gz")
    export_project_archive(out)
    print(f"wrote {out} (restore with bw2io.backup.restore_project_directory)")
    return 0


def _method_files() -> list[str]:
    from .methods import indicators

    return [f"{name}.xlsx" for name in indicators()] + ["methods.json"]


def _written_campaign(args: argparse.Namespace) -> str:
    """The database of the campaign file `args.campaign`, written into the project as `assess`
    writes it (validated first: nothing is written for a file that fails)."""
    from .assessment import assess
    from .campaign import read_campaign

    campaign = read_campaign(args.campaign)
    return assess(campaign, indicators=["climate"], project=args.project).database


def _open(name: str):
    """The project `name`, opened, with an interrupted `import-inventories` completed first
    (`bw_aicompute.excel.inventories.resume_import`): no command reads a half-written import."""
    bd = open_project(name)
    if (Path(bd.projects.dir) / JOURNAL).exists():
        from .excel.inventories import ImportReport, resume_import
        from .locking import refresh_registries, writer_lock

        done = ImportReport()
        with writer_lock(f"project {name!r}"):
            refresh_registries(bd)
            resume_import(bd, done)
        for item, action, detail in done.items:
            print(f"aicompute: {action} {item}: {detail}", file=sys.stderr)
    return bd


def cmd_import_inventories(args: argparse.Namespace) -> int:
    """`aicompute import-inventories`: validate and install an edited inventory workbook."""
    from .excel.inventories import import_inventories

    _open(args.project)
    print(import_inventories(Path(args.workbook)).summary(args.workbook))
    return 0


def cmd_link_ecoinvent(args: argparse.Namespace) -> int:
    """`aicompute link-ecoinvent`: link a copy of the foreground to an ecoinvent database."""
    from .ecoinvent import link_ecoinvent

    return _link(args, lambda: link_ecoinvent(args.database, version=args.version, progress=True))


def _link(args: argparse.Namespace, link) -> int:
    """Run `link()` (a `LinkReport`) in the project, print its summary and write `--report`."""
    if args.report:
        output_path(args.report, force=args.force)
    _open(args.project)
    report = link()
    print(report.summary())
    if args.report:
        report.to_csv(Path(args.report))
        print(f"wrote {args.report}")
    return 0


def cmd_link_uslci(args: argparse.Namespace) -> int:
    """`aicompute link-uslci`: import USLCI and link a copy of the foreground to it."""
    from .uslci import link_uslci

    if args.source and not Path(args.source).exists():
        raise AicomputeError(f"{args.source}: no such file or folder")

    def link():
        imported, report = link_uslci(args.source, progress=True)
        if imported is not None:
            print(imported.summary())
        return report

    return _link(args, link)


def cmd_template(args: argparse.Namespace) -> int:
    """`aicompute template`: write a blank campaign workbook."""
    from .campaign.read import template_lists
    from .campaign.workbook import write_template

    out = output_path(args.out, force=args.force)
    write_template(out, template_lists())
    print(f"wrote {out}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """`aicompute datasets`: list the datasets of the bw_aicompute databases."""
    from .catalog import datasets

    _open(args.project)
    df = datasets(args.database, args.search)
    if df.empty:
        print("no datasets found" + (f" matching {args.search!r}" if args.search else "; run: aicompute setup"))
        return 0
    for db, group in df.groupby("database", sort=False):
        print(f"{db} ({len(group)} datasets)")
        for row in group.itertuples():
            print(f"  {row.name}  [{row.location}, {row.unit}]  code={row.code}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """`aicompute show`: one dataset with its exchanges and sources."""
    from .catalog import show

    _open(args.project)
    print(show(args.dataset))
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    """`aicompute tables`: the README tables as markdown, printed or written into a file."""
    from .catalog import readme_tables

    _open(args.project)
    sites = [s.strip() for s in args.sites.split(",") if s.strip()]
    text = readme_tables(sites)
    if not args.update_readme:
        print(text)
        return 0
    path = Path(args.update_readme)
    start, end = "<!-- tables:start -->", "<!-- tables:end -->"
    try:
        content = path.read_text(encoding="utf-8")
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
    except (OSError, ValueError):
        raise AicomputeError(f"{path}: needs the lines {start} and {end}") from None
    atomic_write(path, lambda tmp: tmp.write_text(f"{head}{start}\n{text}\n{end}{tail}", encoding="utf-8"))
    print(f"updated {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """`aicompute validate`: the validation report, printed and optionally written."""
    from .validation import to_markdown, validate

    if args.out:
        output_path(args.out, force=args.force)
        if not args.out.lower().endswith((".md", ".csv")):
            raise AicomputeError(f"{args.out}: the report is written as Markdown (.md) or CSV (.csv)")
    table = validate(args.project)
    text = to_markdown(table)
    print(text)
    if args.out and args.out.lower().endswith(".csv"):
        atomic_write(args.out, lambda tmp: csv_safe(table).to_csv(tmp, index=False))
    elif args.out:
        atomic_write(args.out, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
    if args.out:
        print(f"wrote {args.out}")
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    """`aicompute setup`: create or complete the project."""
    from .setup import setup_project

    report = setup_project(args.project, reinstall=args.reinstall, progress=not args.quiet)
    if not args.quiet:
        print(report.summary())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """`aicompute status`: what is installed in the project."""
    from .methods import find_method, indicators
    from .ownership import owner
    from .project import find_biosphere

    bd = _open(args.project)
    print(f"Project {args.project!r} in {bd.projects.dir}")
    print(f"Biosphere: {find_biosphere(bd) or '(none)'}")
    print("Databases:")
    for name in sorted(bd.databases):
        meta = bd.databases[name]
        who = "bw_aicompute" if owner(meta) is not None else "user"
        print(f"  {name:<32} {meta.get('number', 0):>6} datasets  [{who}]")
    print("Indicators:")
    for ind in indicators().values():
        found = find_method(ind.method, bd.methods)
        if found:
            unit = bd.methods[found].get("unit", "")
            cfs = bd.methods[found].get("num_cfs", 0)
            covers = ", ".join(bd.methods[found].get("covers") or []) or "?"
            print(f"  {ind.name:<18} {' | '.join(found)}  [{unit}, {cfs} CFs; characterizes {covers}]")
        else:
            print(f"  {ind.name:<18} {' | '.join(ind.method)}  [NOT INSTALLED: run aicompute setup]")
    print(f"Methods installed in the project: {len(bd.methods)}")
    return 0


def _quiet_brightway() -> None:
    """Keep Brightway's progress bars and informational logging out of the command's output."""
    os.environ.setdefault("BRIGHTWAY_NO_STRUCTLOG", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    import warnings

    warnings.filterwarnings("ignore", message="(?s).*pypardiso")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:bw2calc")  # the same in spawned worker processes
    # bw2data (re)sets this logger's level at import, so a filter is used instead of a level
    logging.getLogger("brightway-stdout-feedback").addFilter(lambda record: record.levelno >= logging.ERROR)


def _point_pypardiso_at_mkl() -> None:
    """Tell pypardiso (when installed: bw2calc imports it) where pip put MKL's runtime library,
    with its own variable PYPARDISO_MKL_RT: without it, pypardiso searches the whole environment
    with a recursive glob (0.4 s of every command). Only the library pypardiso's search would
    take first (the shortest path under the environment's lib folder); nothing if the variable
    is set or pypardiso is absent."""
    import glob
    import importlib.util

    if "PYPARDISO_MKL_RT" in os.environ or importlib.util.find_spec("pypardiso") is None:
        return
    found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "*mkl_rt*")), key=len)
    if found:
        from ctypes.util import find_library

        if find_library("mkl_rt") is None and find_library("mkl_rt.1") is None:  # what pypardiso tries first
            os.environ["PYPARDISO_MKL_RT"] = found[0]


def main(argv: list[str] | None = None) -> int:
    """Run `aicompute` with `argv`; returns the exit status (2 for a problem with the input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_brightway()
    _point_pypardiso_at_mkl()
    try:
        return args.func(args)
    except AicomputeError as exc:
        print(f"aicompute: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aicompute: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
