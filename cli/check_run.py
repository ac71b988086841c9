"""`cwlpilot check PATH...`: the options, and one report over every file (text, JSON, GitHub, SARIF).

Exit codes: 0 nothing to fail on, 1 an error (or with --strict a warning), 2 a usage error (an unknown
option or rule, a path that does not exist, an output file that cannot be written); cwlpilot.main gives
70 for an internal error. Text goes as compilers write it: findings on standard error, the converted
graph (one document named, or --graph) on standard output.
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from cwlpilot import __version__
from cwlpilot.argparsing import RaisingParser, UsageError, loop_limit, number
from cwlpilot.check_files import discover
from cwlpilot.check_one import Settings, check_all
from cwlpilot.compiler.findings import kept_findings, split_patterns, unknown_patterns
from cwlpilot.compiler.limits import MAX_STAGES
from cwlpilot.compiler.report import Report, github_report, graphs_text, json_report, text_report
from cwlpilot.compiler.sarif import sarif_report
from cwlpilot.compiler.sourcefile import SourceError, read_text

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def check_parser() -> argparse.ArgumentParser:
    p = RaisingParser(
        prog="cwlpilot check",
        description="Check CWL workflows and tools, PanDA-style workflows and stages plans, files and folders.",
        epilog="exit codes: 0 no error (with --strict: no warning), 1 errors (or warnings with --strict), "
               "2 usage error, 70 internal error (a bug in cwlpilot)",
    )
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a document (FILE or FILE#ID), the inputs file after it, a stages plan, or a folder "
                        "(searched for *.cwl and *.json)")
    p.add_argument("--format", choices=["text", "json", "github", "sarif"], default="text",
                   help="text (GNU style, default), json (schemas/check-report.schema.json), github (annotations), "
                        "sarif (SARIF 2.1.0)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of the terminal")
    p.add_argument("--sarif", metavar="FILE", help="write the report as SARIF to FILE as well")
    p.add_argument("--strict", action="store_true", help="warnings fail the check too")
    p.add_argument("--select", action="append", metavar="RULE[,RULE]", help="report only these rules (globs)")
    p.add_argument("--ignore", action="append", metavar="RULE[,RULE]", help="do not report these rules (globs)")
    p.add_argument("-j", "--jobs", type=number(int), default=1, help="check N files at once (default 1)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--graph", action="store_true", help="give the converted graph of every document")
    shown.add_argument("--no-graph", action="store_true", help="never give the converted graph")
    panda = p.add_argument_group("PanDA-style documents")
    panda.add_argument("--panda-client", metavar="VERSION", help="the panda-client release PanDA's server runs")
    panda.add_argument("--outDS", dest="out_ds", help="base name of the output datasets")
    panda.add_argument("--dataset", action="append", default=[], metavar="NAME=DIR", help="a dataset's local folder")
    panda.add_argument("--datasets", metavar="FILE", help="YAML mapping of dataset names to local folders")
    panda.add_argument("--max-loop-iterations", type=int, default=None, help="stop every loop after N iterations")
    return p


def run_check(argv: list[str], out: TextIO, err: TextIO) -> int:
    args = check_parser().parse_args(argv)
    select, ignore = split_patterns(args.select), split_patterns(args.ignore)
    unknown = unknown_patterns(select + ignore)
    if unknown:
        raise UsageError(f"cwlpilot check: no rule matches {', '.join(unknown)}")
    _panda_options(args)
    targets, skipped = discover(args.paths)
    one = len(targets) == 1 and not any(os.path.isdir(p) for p in args.paths)
    graph = None
    if (args.graph or one) and not args.no_graph and args.format != "sarif":
        graph = "json" if args.format == "json" else "text"
    settings = Settings(graph, args.panda_client, args.out_ds, tuple(args.dataset), args.datasets,
                        args.max_loop_iterations)
    results = check_all(targets, settings, args.jobs)
    kept, left_out = kept_findings((d for r in results for d in r.found), select, ignore, _text_of)
    report = Report(tuple(results), tuple(skipped), kept, left_out, args.strict)
    if args.sarif and not _write(args.sarif, sarif_report(report, __version__), err, "--sarif"):
        return EXIT_USAGE
    if not _render(report, args.format, args.output, out, err):
        return EXIT_USAGE
    return EXIT_INVALID if report.failed else EXIT_OK


def _render(report: Report, fmt: str, output: str | None, out: TextIO, err: TextIO) -> bool:
    """Write the report where it goes; False (after saying why) when the -o file cannot be written."""
    if fmt == "text":
        out.write(graphs_text(report))
        text, stream = text_report(report), err
    elif fmt == "github":
        text, stream = github_report(report) + graphs_text(report), out
    elif fmt == "json":
        text, stream = json_report(report, __version__), out
    else:
        text, stream = sarif_report(report, __version__), out
    if output:
        return _write(output, text, err, "-o")
    stream.write(text)
    return True


def _write(path: str, text: str, err: TextIO, option: str) -> bool:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        err.write(f"cwlpilot check: {option} {path}: cannot write it: {exc.strerror or exc}\n")
        return False
    return True


def _text_of(path: str) -> str | None:
    """The text of a file findings are in, for its `# cwlpilot: ignore` comments (None: unreadable)."""
    try:
        return read_text(path)
    except SourceError:
        return None


def _panda_options(args: argparse.Namespace) -> None:
    """The PanDA options that do not depend on a document, checked once: UsageError when one is wrong."""
    from cwlpilot.compiler.panda import prunopts

    if args.panda_client and prunopts.parse_version(args.panda_client) is None:
        raise UsageError(f"--panda-client wants a release number such as 2.0.2, not '{args.panda_client[:40]}'")
    for pair in args.dataset:
        name, eq, folder = pair.partition("=")
        if not eq or not name or not folder:
            raise UsageError(f"--dataset wants NAME=DIR, not '{pair}'")
    loop_limit(args.max_loop_iterations, 1, MAX_STAGES)
