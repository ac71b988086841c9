"""cli/cwlrunner_options.py: cwltool's options, each honoured, accepted with a note, or refused in one line
(exit 2); options before the document, the job after it, as cwltool's `job_order` (argparse.REMAINDER)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cwlpilot.argparsing import UsageError
from cwlpilot.cwlrunner_options import NOTED, NOTED_VALUED, REJECTED, notes, parse, runner_parser, split

from ..e2e.helpers import ROOT, env, installed

GREET = [str(ROOT / "examples/cwl/greet.cwl"), str(ROOT / "examples/cwl/greet-job.yml")]
# every option of cwltool 3.3's --help, but -h
CWLTOOL_HELP = """--basedir --outdir --write-summary -w --parallel --parallel-max --skip-schemas --enable-dev
--enable-ext --on-error --relax-path-checks --overrides --mpi-config-file --print-rdf --print-dot --print-pre
--print-deps --print-input-deps --pack --version --validate --print-supported-versions --print-subgraph
--print-targets --make-template --relative-deps --rdf-serializer --tool-help --verbose --no-warnings --quiet
--debug --log-dir --timestamps --preserve-environment --preserve-entire-environment --tmpdir-prefix
--tmp-outdir-prefix --cachedir --rm-tmpdir --leave-tmpdir --move-outputs --leave-outputs --copy-outputs
--provenance --enable-user-provenance --disable-user-provenance --enable-host-provenance
--disable-host-provenance --orcid --full-name --strict --non-strict --no-doc-cache --doc-cache
--user-space-docker-cmd --udocker --singularity --podman --no-container --enable-pull --disable-pull
--singularity-sandbox-path --force-docker-pull --no-read-only --default-container --no-match-user --custom-net
--strict-memory-limit --strict-cpu-limit --rm-container --leave-container --cidfile-dir --cidfile-prefix
--enable-color --disable-color --enable-ga4gh-tool-registry --disable-ga4gh-tool-registry
--add-ga4gh-tool-registry --compute-checksum --no-compute-checksum --eval-timeout --js-console
--disable-js-validation --js-hint-options-file --target -t --single-step --single-process"""
CWLTOOL_OPTIONS = CWLTOOL_HELP.split()


def test_every_cwltool_option_is_known() -> None:
    known = {s for a in runner_parser("cwl-runner")._actions for s in a.option_strings}
    assert [o for o in CWLTOOL_OPTIONS if o not in known] == []


@pytest.mark.parametrize(("argv", "options", "document", "job"), [
    (["--outdir", "o", "wf.cwl", "job.yml"], ["--outdir", "o"], "wf.cwl", ["job.yml"]),
    (["--outdir=o", "--quiet", "wf.cwl"], ["--outdir=o", "--quiet"], "wf.cwl", []),
    (["-t", "o1", "wf.cwl", "--outdir", "x"], ["-t", "o1"], "wf.cwl", ["--outdir", "x"]),  # after: the job's
    (["--quiet", "tool.cwl", "-"], ["--quiet"], "tool.cwl", ["-"]),
    (["--", "-odd.cwl", "--message", "hi"], [], "-odd.cwl", ["--message", "hi"]),
    (["--quiet"], ["--quiet"], None, []),
])
def test_the_document_ends_the_options(argv: list[str], options: list[str], document: str | None,
                                       job: list[str]) -> None:
    assert split(runner_parser("cwl-runner"), argv) == (options, document, job)


@pytest.mark.parametrize("option", sorted(REJECTED))
def test_options_whose_meaning_cannot_be_kept_are_refused_in_one_line(option: str) -> None:
    argv = [option, "x"] if REJECTED[option][0] else [option]
    with pytest.raises(UsageError) as caught:
        parse("cwl-runner", [*argv, *GREET])
    message = str(caught.value)
    assert message.startswith(f"cwl-runner: {option} is not supported: ") and "\n" not in message


@pytest.mark.parametrize("option", sorted(NOTED))
def test_options_that_change_nothing_here_are_accepted_with_a_note(option: str) -> None:
    argv = [option, "x"] if option in NOTED_VALUED else [option]
    assert notes(parse("cwl-runner", [*argv, *GREET])) == [f"note: {option} has no effect: {NOTED[option]}"]


def test_options_cwltool_makes_exclusive_stay_so() -> None:
    with pytest.raises(UsageError, match="argument --tmp-outdir-prefix: not allowed with argument --cachedir"):
        parse("cwl-runner", ["--cachedir", "c", "--tmp-outdir-prefix", "t", *GREET])
    with pytest.raises(UsageError, match="argument --make-template: not allowed with argument --validate"):
        parse("cwl-runner", ["--validate", "--make-template", *GREET])
    with pytest.raises(UsageError, match="--leave-tmpdir: not allowed with --cachedir"):
        parse("cwl-runner", ["--cachedir", "c", "--leave-tmpdir", *GREET])


def runner(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([installed("cwl-runner"), *args], cwd=cwd, env=env(), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_the_installed_script_refuses_and_notes_without_a_traceback(tmp_path: Path) -> None:
    proc = runner("--singularity", "--outdir", str(tmp_path), *GREET)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == ("cwl-runner: --singularity is not supported: cwlpilot drives no container engine; "
                           "tools run on this host (DockerRequirement as a requirement exits 33)\n")
    proc = runner("--quiet", "--rm-container", "--outdir", str(tmp_path), *GREET)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("note: --rm-container has no effect: no container is started")
    proc = runner("--nonsense", *GREET)
    assert (proc.returncode, proc.stderr) == (2, "cwl-runner: unrecognized arguments: --nonsense\n")


def test_version_and_supported_versions_as_cwltool_prints_them() -> None:
    from cwlpilot import __version__

    proc = runner("--version")
    assert (proc.returncode, proc.stdout) == (0, f"{installed('cwl-runner')} {__version__}\n")  # sys.argv[0] VER
    proc = runner("--print-supported-versions")
    assert (proc.returncode, proc.stdout) == (0, "v1.0\nv1.1\nv1.2\n")
    proc = runner()
    assert proc.returncode == 2 and proc.stderr.startswith("cwl-runner: give the CWL document:")
