"""The options of `cwl-runner` (and `cwlpilot cwl-runner`): cwltool's, spelled and defaulted as cwltool 3.3
spells them (`argparser.arg_parser`), plus the pilot's own (`--workdir`, `-j`, `--cpu-limit`, `--mem-limit`).

Each cwltool option is honoured, accepted with a one-line note saying why it changes nothing here, or
refused with a one-line message (exit 2) when its meaning cannot be kept. As in cwltool, the options come
before the document and everything after the document is the job: an inputs file, `-` (the job on
standard input) or the tool's inputs as flags (cli/toolflags.py).
"""

from __future__ import annotations

import argparse

from cwlpilot.argparsing import RaisingParser, UsageError, number

NO_CONTAINER = "no container is started (tools run on this host, as cwltool runs them with --no-container)"

# cwltool options accepted with a note: what they ask for is already so, or concerns something never done here
NOTED = {
    "--preserve-environment": "tools get the whole environment of the run already (as with cwltool's "
                              "--preserve-entire-environment)",
    "--doc-cache": "documents are read once per run; none is fetched over HTTP into a cache",
    "--no-doc-cache": "documents are read once per run; none is fetched over HTTP into a cache",
    "--disable-js-validation": "expressions are not checked with jshint, so there is nothing to disable",
    "--disable-ga4gh-tool-registry": "tools are never looked up in a GA4GH registry",
    "--disable-user-provenance": "no provenance is recorded",
    "--disable-host-provenance": "no provenance is recorded",
    **{option: NO_CONTAINER for option in (
        "--enable-pull", "--disable-pull", "--force-docker-pull", "--no-read-only", "--no-match-user",
        "--strict-memory-limit", "--strict-cpu-limit", "--rm-container", "--leave-container",
        "--custom-net", "--cidfile-dir", "--cidfile-prefix", "--singularity-sandbox-path")},
}
# options of the list above that take a value
NOTED_VALUED = frozenset({"--preserve-environment", "--custom-net", "--cidfile-dir", "--cidfile-prefix",
                          "--singularity-sandbox-path"})

CONTAINERS = "cwlpilot drives no container engine; tools run on this host (DockerRequirement as a requirement " \
             "exits 33)"
PROVENANCE = "cwlpilot records no provenance Research Object (its timeline.json and store record the run)"
# cwltool options refused: (takes a value, why its meaning cannot be kept)
REJECTED: dict[str, tuple[bool, str]] = {
    "--basedir": (True, "relative paths of a job are relative to its inputs file (standard input and flags: the "
                        "working directory), as cwltool's default"),
    "--overrides": (True, "requirement overrides are not supported"),
    "--mpi-config-file": (True, "MPI launchers are not supported"),
    "--skip-schemas": (False, "the `$schemas` ontologies are always read, to check File formats"),
    "--enable-dev": (False, "development versions of CWL are not supported (v1.0, v1.1, v1.2 are)"),
    "--non-strict": (False, "documents are always validated strictly"),
    "--print-rdf": (False, "RDF output is not supported (--print-dot is)"),
    "--rdf-serializer": (True, "RDF output is not supported (--print-dot is)"),
    "--print-pre": (False, "the preprocessed document is not printed (`cwlpilot compile` prints the plan)"),
    "--print-deps": (False, "dependency listing is not supported"),
    "--print-input-deps": (False, "dependency listing is not supported"),
    "--relative-deps": (True, "dependency listing is not supported"),
    "--pack": (False, "packing documents is not supported"),
    "--print-subgraph": (False, "the subgraph is not printed (--target runs it; `cwlpilot check` shows a graph)"),
    "--single-step": (True, "running one step alone is not supported (--target runs a step and what follows)"),
    "--single-process": (True, "running one step's process alone is not supported"),
    "--log-dir": (True, "each step's output goes to its log in the run's folder (kept with --leave-tmpdir)"),
    "--timestamps": (False, "log lines carry no timestamps (timeline.json has every step's times)"),
    "--no-compute-checksum": (False, "output File checksums are always computed"),
    "--eval-timeout": (True, "JavaScript expressions run under cwl-utils' own time limit"),
    "--js-console": (False, "JavaScript console output is not shown"),
    "--js-hint-options-file": (True, "expressions are not checked with jshint"),
    "--enable-ga4gh-tool-registry": (False, "tools are never looked up in a GA4GH registry"),
    "--add-ga4gh-tool-registry": (True, "tools are never looked up in a GA4GH registry"),
    "--provenance": (True, PROVENANCE), "--enable-user-provenance": (False, PROVENANCE),
    "--enable-host-provenance": (False, PROVENANCE), "--orcid": (True, PROVENANCE),
    "--full-name": (True, PROVENANCE),
    **{option: (valued, CONTAINERS) for option, valued in (
        ("--user-space-docker-cmd", True), ("--udocker", False), ("--singularity", False), ("--podman", False),
        ("--default-container", True))},
}


def runner_parser(prog: str) -> argparse.ArgumentParser:
    """The options before the document (`split` hands the document and the job apart)."""
    p = RaisingParser(prog=prog, description="Run a CWL document with cwlpilot, under cwltool's options.",
                      allow_abbrev=False)
    p.add_argument("workflow", nargs="?", help="the CWL document (FILE or FILE#ID for a $graph entry)")
    p.add_argument("job_order", nargs="*", help="the job: an inputs file, - (standard input), or the tool's "
                   "inputs as flags")
    _output_options(p)
    _mode_options(p)
    _run_options(p)
    _file_options(p)
    for option in NOTED:
        p.add_argument(option, action="append" if option in NOTED_VALUED else "store_true", help=argparse.SUPPRESS)
    for option, (valued, _) in REJECTED.items():
        p.add_argument(option, action="append" if valued else "store_true", help=argparse.SUPPRESS)
    return p


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--outdir", default=".", help="where the output files go (default: the working directory)")
    p.add_argument("-w", "--write-summary", metavar="FILE", help="write the output object there, not on stdout")
    log = p.add_mutually_exclusive_group()
    log.add_argument("--verbose", action="store_true", help="progress of each step on stderr (the default)")
    log.add_argument("--quiet", "--no-warnings", dest="quiet", action="store_true",
                     help="only failures on stderr: no progress, no final table")
    log.add_argument("--debug", action="store_true", help="progress, and the whole log of each failed step")
    color = p.add_mutually_exclusive_group()
    color.add_argument("--enable-color", action="store_true", help="accepted: cwlpilot's messages have no colour")
    color.add_argument("--disable-color", action="store_true", help="accepted: cwlpilot's messages have no colour")


def _mode_options(p: argparse.ArgumentParser) -> None:
    """cwltool's non-execution options: each prints and exits."""
    g = p.add_argument_group("non-execution options").add_mutually_exclusive_group()
    g.add_argument("--version", action="store_true", help="print the version and exit")
    g.add_argument("--print-supported-versions", action="store_true", help="print the CWL versions and exit")
    g.add_argument("--validate", action="store_true", help="validate the document (and the job, if given)")
    g.add_argument("--print-dot", action="store_true", help="print the workflow as Graphviz DOT, as cwltool")
    g.add_argument("--make-template", action="store_true", help="print a template inputs object")
    g.add_argument("--print-targets", action="store_true", help="print what --target can name")
    p.add_argument("--tool-help", action="store_true", help="print the tool's inputs as flags and exit")


def _run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("running")
    g.add_argument("-t", "--target", action="append", default=[], metavar="NAME",
                   help="run only the steps the named workflow outputs need, or the named steps and what follows")
    g.add_argument("--on-error", choices=("stop", "continue"), default="stop",
                   help="after a failed step: start nothing more (stop, the default), or go on with the steps "
                        "that do not depend on it (continue)")
    g.add_argument("--parallel", action="store_true", help="accepted: independent steps always run in parallel")
    g.add_argument("--parallel-max", type=number(int, zero=True), metavar="N",
                   help="at most N steps at once (0: as many as this machine has cores)")
    g.add_argument("--no-container", action="store_true", help="accepted: tools always run on this host")
    g.add_argument("--relax-path-checks", action="store_true",
                   help="accepted: file names with spaces, `#` or any other character are always allowed")
    g.add_argument("--strict", action="store_true", help="accepted: validation is always strict")
    g.add_argument("--enable-ext", action="store_true", help="accepted: cwltool:Loop is always enabled")
    g.add_argument("--preserve-entire-environment", action="store_true",
                   help="accepted: tools get the whole environment of the run")
    g.add_argument("--compute-checksum", action="store_true", help="accepted: checksums are always computed")
    g.add_argument("--workdir", help="where steps run, kept (default: a temporary folder, removed at the end)")
    g.add_argument("-j", "--max-jobs", type=number(int), default=None, help="at most this many steps at once")
    g.add_argument("--cpu-limit", type=number(float), help="CPU cores to book (default: this machine's)")
    g.add_argument("--mem-limit", type=number(float), help="memory to book, MB (default: 90%% of the RAM)")


def _file_options(p: argparse.ArgumentParser) -> None:
    files = p.add_argument_group("intermediate, temporary, or final output files management")
    files.add_argument("--tmpdir-prefix", metavar="PREFIX", help="path prefix of the temporary folder "
                       "(default: $TMPDIR/cwlpilot-); a folder PREFIX<random> is made")
    where = files.add_mutually_exclusive_group()
    where.add_argument("--tmp-outdir-prefix", metavar="PREFIX", help="path prefix of the folder steps write "
                       "their outputs in (default: --tmpdir-prefix); here the same folder")
    where.add_argument("--cachedir", metavar="DIR", help="keep each run's folder under DIR, named by the "
                       "document, the job and its files: the same run again reuses it (and resumes one that failed)")
    keep = files.add_mutually_exclusive_group()
    keep.add_argument("--rm-tmpdir", dest="leave_tmpdir", action="store_false", default=False,
                      help="remove the temporary folder at the end, whatever the outcome (default)")
    keep.add_argument("--leave-tmpdir", dest="leave_tmpdir", action="store_true", default=False,
                      help="keep the temporary folder (its plan, logs and the steps' files)")
    outputs = files.add_mutually_exclusive_group()
    outputs.add_argument("--move-outputs", dest="outputs", action="store_const", const="move", default="move",
                         help="output files into --outdir, the temporary folder removed (default)")
    outputs.add_argument("--leave-outputs", dest="outputs", action="store_const", const="leave",
                         help="output files left in the run's folder, which is kept")
    outputs.add_argument("--copy-outputs", dest="outputs", action="store_const", const="copy",
                         help="output files copied into --outdir, the run's folder kept")


def split(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[list[str], str | None, list[str]]:
    """(the options, the document, the job arguments) of `argv`: the document is the first argument that is
    neither an option nor an option's value; everything after it is the job, as cwltool's
    `job_order` (argparse.REMAINDER) takes it."""
    actions = {s: a for a in parser._actions for s in a.option_strings}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return argv[:i], (argv[i + 1] if i + 1 < len(argv) else None), argv[i + 2:]
        if not arg.startswith("-") or arg == "-":
            return argv[:i], arg, argv[i + 1:]
        action = actions.get(arg.split("=", 1)[0])
        takes_value = action is not None and action.nargs != 0 and "=" not in arg
        i += 2 if takes_value else 1
    return argv, None, []


def parse(prog: str, argv: list[str]) -> argparse.Namespace:
    """The parsed options (raises UsageError, the one line a refused option gives among them)."""
    parser = runner_parser(prog)
    options, document, job = split(parser, argv)
    args = parser.parse_args(options)
    args.workflow, args.job_order = document, job
    for option, (_, why) in REJECTED.items():
        if getattr(args, _dest(option)) not in (None, False):
            raise UsageError(f"{prog}: {option} is not supported: {why}")
    if args.cachedir and args.leave_tmpdir:
        raise UsageError(f"{prog}: --leave-tmpdir: not allowed with --cachedir (its folders are always kept)")
    return args


def notes(args: argparse.Namespace) -> list[str]:
    """One line per accepted cwltool option that has no effect here."""
    return [f"note: {option} has no effect: {why}" for option, why in NOTED.items()
            if getattr(args, _dest(option)) not in (None, False)]


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")
