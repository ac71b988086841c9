"""Top-level command dispatcher: picks the package that owns a subcommand and imports only that one.

`cwlpilot run plan.json` must start fast, so the compiler (and cwl-utils behind it) is imported only
for the subcommands that need it.
"""

from __future__ import annotations

import sys

USAGE = """usage: cwlpilot COMMAND [options]

commands:
  run PLAN.json | WF.cwl [INPUTS]   run a stages plan (or compile and run a CWL workflow)
  pilot --store URL                 join a run as an extra pilot
  submit PLAN|WF.cwl --slurm ...    load a run into its store and start its pilots as one Slurm job array
  status --store URL                stages by state, pilots and failures of a run
  check WF.cwl [INPUTS]             validate a CWL workflow and print its graph
  compile WF.cwl [INPUTS] -o PLAN   compile a CWL workflow into a stages plan
  graph WF.cwl|PLAN.json            write the plan as Graphviz DOT
  cwl-runner TOOL.cwl [JOB]         the standard cwl-runner interface

`cwlpilot COMMAND --help` describes a command's options.
"""

EXECUTOR_COMMANDS = {"run", "pilot", "status"}
COMPILER_COMMANDS = {"check", "compile", "graph"}
CWL_RUN_COMMANDS = {"cwl-runner", "run"}  # compile then execute: the one place both packages meet


def _is_cwl_run(argv: list[str]) -> bool:
    """True when `run` was given a CWL document rather than a stages plan."""
    for arg in argv:
        if not arg.startswith("-"):
            return not arg.endswith(".json")
    return False


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    if args[0] == "--version":
        from cwlpilot import __version__

        print(f"cwlpilot {__version__}")
        return 0
    command = args[0]
    if command in EXECUTOR_COMMANDS and not (command == "run" and _is_cwl_run(args[1:])):
        from cwlpilot.run_cmd import main as executor_main

        return executor_main(args)
    if command == "submit":  # compiles a CWL workflow first, when given one
        from cwlpilot.submit_cmd import main as submit_main

        return submit_main(args)
    if command in CWL_RUN_COMMANDS:
        try:
            from cwlpilot.cwlrun import main as cwl_run_main
        except ImportError as exc:
            print(f"cwlpilot: the '{command}' command needs the CWL compiler: {exc}", file=sys.stderr)
            return 2
        return cwl_run_main(args)
    if command in COMPILER_COMMANDS:
        try:
            from cwlpilot.check_cmd import main as compiler_main
        except ImportError as exc:  # the compiler is optional at run time; say what is missing
            print(f"cwlpilot: the '{command}' command needs the CWL compiler: {exc}", file=sys.stderr)
            return 2
        return compiler_main(args)
    print(f"cwlpilot: unknown command '{command}'\n\n{USAGE}", end="", file=sys.stderr)
    return 2
