"""compiler.panda.prunargs: the prun options with a local meaning, and the others listed once."""

from cwlpilot.compiler.panda.prunargs import Secondary, parse_args


def test_local_meanings_and_ignored_options():
    pa = parse_args("--outputs a.root,b.pool --nJobs 3 --nFilesPerJob=2 --avoidVP --nGBPerJob 10")
    assert pa.outputs == ("a.root", "b.pool") and pa.n_jobs == 3 and pa.files_per_job == 2
    assert pa.ignored == ("--avoidVP", "--nGBPerJob") and pa.errors == ()


def test_secondary_streams():
    pa = parse_args("--secondaryDSs IN2:2:%{SECDS1},IN3:5:%{SECDS2}")
    assert pa.secondary == (Secondary(2, 2, "%{SECDS1}", 15, 21), Secondary(3, 5, "%{SECDS2}", 31, 37))


def test_mistakes_with_offsets():
    pa = parse_args("--outputs x --secondaryDSs %IN2:2:%{DS1} --nJobs zero --exec ls")
    messages = dict(pa.errors)
    assert "must be written without '%'" in messages[27]
    assert "positive whole number" in messages[49]
    assert "opt_exec" in messages[54]
