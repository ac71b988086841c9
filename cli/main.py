"""Top-level command dispatcher: picks the package that owns a subcommand and imports only that one.

`cwlpilot run plan.json` must start fast, so the compiler (and cwl-utils behind it) is imported only
for the subcommands that need it.

Exit codes of every subcommand: 0 done, 1 the input is invalid or the run failed, 2 a usage error, 33 a
feature the cwl-runner interface does not support, 70 an internal error (a bug in cwlpilot: sysexits'
EX_SOFTWARE), 130 interrupted. An internal error prints one line naming a file that holds the traceback;
a user's mistake never ends that way (tests/fuzz checks that).
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

USAGE = """usage: cwlpilot COMMAND [options]

commands:
  run PLAN.json | WF.cwl [INPUTS]   run a stages plan (or compile and run a CWL workflow)
  pilot --store URL                 join a run as an extra pilot
  submit PLAN|WF.cwl --slurm ...    load a run into its store and start its pilots as one Slurm job array
  status --store URL                stages by state, pilots and failures of a run
  check PATH... [--format F]        check documents, plans and folders (text, json, github, sarif)
  compile WF.cwl [INPUTS] -o PLAN   compile a CWL workflow into a stages plan
  graph WF.cwl|PLAN.json            write the plan as Graphviz DOT
  cwl-runner TOOL.cwl [JOB|-|FLAGS] the standard cwl-runner interface, with cwltool's options

`cwlpilot COMMAND --help` describes a command's options.
"""

EXECUTOR_COMMANDS = {"pilot", "status"}
COMPILER_COMMANDS = {"check", "compile", "graph"}
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE: distinct from 1 (invalid input) so that CI can tell a bug apart
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away (`cwlpilot check X | head`)


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand in `argv` (default: the command line); return its exit code, never raise."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("cwlpilot: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - a bug: every mistake of the user's is reported before this
        print(internal_error(exc, args), file=sys.stderr)
        return EXIT_INTERNAL


def cwl_runner() -> int:
    """The `cwl-runner` console script: `cwlpilot cwl-runner` under the name CWL files' `#!` lines call."""
    return main(["cwl-runner", *sys.argv[1:]])


def internal_error(exc: BaseException, args: list[str]) -> str:
    """One line saying that cwlpilot failed, naming the file it wrote the traceback of `exc` to."""
    from cwlpilot import __version__

    summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    try:
        fd, path = tempfile.mkstemp(prefix="cwlpilot-internal-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
            handle.write(f"cwlpilot {__version__}, Python {sys.version.split()[0]}\n")
            handle.write(f"command: cwlpilot {' '.join(args)}\n\n")
            handle.write("".join(traceback.format_exception(exc)))
    except Exception as saving:  # noqa: BLE001 - out of memory or disk: say so on the same line
        where = f"the traceback could not be saved ({type(saving).__name__})"
    else:
        where = f"traceback in {path}"
    return f"cwlpilot: internal error (a bug in cwlpilot, not in your input): {summary}; {where}"


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises no second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _dispatch(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    if args[0] == "--version":
        from cwlpilot import __version__

        print(f"cwlpilot {__version__}")
        return 0
    command = args[0]
    if command == "run":  # a plan or a CWL document, as the file's content says (cli/runfile.py)
        from cwlpilot.runfile import main as run_main

        return run_main(args)
    if command in EXECUTOR_COMMANDS:
        from cwlpilot.run_cmd import main as executor_main

        return executor_main(args)
    if command == "submit":  # compiles a CWL workflow first, when given one
        from cwlpilot.submit_cmd import main as submit_main

        return submit_main(args)
    if command == "cwl-runner":
        try:
            from cwlpilot.cwlrunner import main as runner_main
        except ImportError as exc:
            print(f"cwlpilot: the '{command}' command needs the CWL compiler: {exc}", file=sys.stderr)
            return 2
        return runner_main(args)
    if command in COMPILER_COMMANDS:
        try:
            from cwlpilot.check_cmd import main as compiler_main
        except ImportError as exc:  # the compiler is optional at run time; say what is missing
            print(f"cwlpilot: the '{command}' command needs the CWL compiler: {exc}", file=sys.stderr)
            return 2
        return compiler_main(args)
    print(f"cwlpilot: unknown command '{command}'\n\n{USAGE}", end="", file=sys.stderr)
    return 2
