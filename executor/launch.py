"""Starting, waiting for and killing stage processes: the only module that forks.

A stage's command goes to `/bin/bash -c` as in O2DPG, except a command made only of plain words (no quotes,
variables, globs, redirections, operators or shell builtins), which is executed directly: the answer is the
same and it saves a bash start-up per stage, which is most of the cost of a short stage (GNU make takes
the same shortcut).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import threading
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

_PLAIN = re.compile(r"[A-Za-z0-9_@%+,./:=-]+(?:[ \t]+[A-Za-z0-9_@%+,./:=-]+)*")
# Builtins that a direct exec would not reproduce (bash's behaviour differs from /usr/bin's, or there is
# no binary at all). `true`, `false`, `echo`, `printf`, `test`, `kill`, `sleep` behave the same.
_BUILTINS = frozenset({
    "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen", "complete", "continue",
    "declare", "dirs", "disown", "enable", "eval", "exec", "exit", "export", "fc", "fg", "getopts", "hash",
    "help", "history", "jobs", "let", "local", "logout", "mapfile", "popd", "pushd", "pwd", "read",
    "readarray", "readonly", "return", "set", "shift", "shopt", "source", "suspend", "times", "trap",
    "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait",
})


@lru_cache(maxsize=4096)
def argv_for(cmd: str, search_path: bytes | None) -> tuple[str, ...]:
    """The argv that runs `cmd`: the words themselves when that is exactly what bash would do.

    `search_path` is the stage's PATH, where the program is looked up as bash would."""
    text = cmd.strip()
    if _PLAIN.fullmatch(text):
        words = text.split()
        first = words[0]
        if "=" not in first and first not in _BUILTINS:
            path = None if search_path is None else os.fsdecode(search_path)
            found = shutil.which(first, path=path) if "/" not in first else first
            if found is not None:
                return (found, *words[1:])
    return ("/bin/bash", "-c", cmd)


class Process(NamedTuple):
    """A running stage process: a session leader, so that the whole tree can be signalled at once."""

    pid: int


# Python ignores these, and an ignored signal stays ignored across exec: `yes | head -1` would then end with
# "Broken pipe" instead of quietly (subprocess.Popen's restore_signals does the same).
_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
_HOME_FD: list[int] = []  # a descriptor of the pilot's own working directory, opened on first use

_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND  # no O_CLOEXEC: it becomes the stage's stdout


def start(cmd: str, cwd: str, env: Mapping[bytes, bytes], log: str, nice: bool = False) -> Process:
    """Start `cmd` in `cwd` with `env`, stdout and stderr appended to `log`, in a new session.

    os.posix_spawn (vfork + exec in glibc) instead of subprocess.Popen: Popen's own bookkeeping costs about
    as much as the exec itself for a short stage. posix_spawn has no working-directory option, so the pilot (its
    loop is the only thread at work: nothing else can observe it) steps into `cwd` for the spawn and straight
    back out. The
    child opens the log itself, so creating 10,000 log files is not serialised in the pilot.
    Raises OSError (e.g. the log cannot be created)."""
    argv = argv_for(cmd, env.get(b"PATH"))
    if nice:
        argv = ("/usr/bin/nice", "-n", "19", *argv)
    if not _HOME_FD:
        _HOME_FD.append(os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, log, _LOG_FLAGS, 0o644),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    os.chdir(cwd)
    try:
        # no signal blocked in the stage, whatever the pilot's threads block
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True, setsigmask=(),
                             setsigdef=_DEFAULT_SIGNALS)
    finally:
        os.fchdir(_HOME_FD[0])
    return Process(pid)


class Exit(NamedTuple):
    code: int  # negative: killed by that signal
    cpu_time: float  # user + system seconds of the process and the descendants it waited for


def reap(proc: Process) -> Exit | None:
    """The exit of `proc` if it has ended (never blocks), reaping it."""
    try:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    except ChildProcessError:
        pid, status, usage = proc.pid, 0, None
    if pid == 0:
        return None
    code = os.waitstatus_to_exitcode(status) if usage is not None else -signal.SIGKILL
    if usage is None:
        return Exit(code, 0.0)
    return Exit(code, usage.ru_utime + usage.ru_stime)


class ChildWatch:
    """Wakes the pilot when any child process ends: SIGCHLD writes a byte into a pipe (Python's wake-up fd,
    which works whichever thread the signal reaches), and `wait` sleeps on that pipe with a timeout.

    One pipe for all stages instead of a pidfd and two epoll calls per stage. Usable in the main thread
    only (a signal handler is installed there); elsewhere `wait` just sleeps a little.
    """

    def __init__(self) -> None:
        self.enabled = threading.current_thread() is threading.main_thread()
        if not self.enabled:
            return
        self.read_fd, self.write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.old_fd = signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)
        self.old_handler = signal.signal(signal.SIGCHLD, _ignore)

    def wait(self, timeout: float) -> None:
        """Return when a child may have ended, or after `timeout` seconds."""
        if not self.enabled:
            time.sleep(min(max(timeout, 0.0), 0.005))
            return
        ready, _, _ = select.select([self.read_fd], [], [], max(timeout, 0.0))
        if ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self.read_fd, 4096)

    def poke(self) -> None:
        """Wake `wait` now (from a signal handler that changed what the loop must do)."""
        if self.enabled:
            with contextlib.suppress(BlockingIOError):
                os.write(self.write_fd, b"\0")

    def close(self) -> None:
        if self.enabled:
            signal.signal(signal.SIGCHLD, self.old_handler)
            signal.set_wakeup_fd(self.old_fd)
            os.close(self.read_fd)
            os.close(self.write_fd)
            self.enabled = False


def _ignore(signum: int, frame: object) -> None:
    """The SIGCHLD handler: the wake-up byte is all that is needed."""


def signal_tree(proc: Process, sig: int) -> None:
    """Send `sig` to the stage's whole process group (it is a session leader)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
