"""Keeping every process a stage starts within the stage's life, and within the pilot's.

Two mechanisms, both documented in README "Crash safety":
- While the pilot lives, it is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): whatever a stage leaves
  behind, even a daemon that left the stage's session, is re-parented to the pilot once its own parent is
  gone, instead of to init. When a stage ends, the pilot SIGKILLs what is left of its process group and
  every such adopted process that carries the attempt's marker (its environment) or belongs to the stage's
  session, with their descendants. Looking costs one read of /proc/self/task/PID/children per stage end:
  the kernel re-parents orphans to the first thread of the process, which starts no stage itself.
  An adopted process that both cleared its environment and left its session cannot be told to one stage;
  it is ended as soon as no stage runs any more (at the latest when the pilot ends).
- The guard (executor/guard.py), a process of its own that the pilot cannot take down with it, ends the
  pilot's unfinished stages when the pilot dies in any way.
`--keep-stage-daemons` leaves what an ended stage left behind alone (never what an interrupted or
orphaned stage runs).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from pathlib import Path

import psutil

PILOT_VAR = "CWLPILOT_PILOT"
_PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 36, 37
_GUARD = str(Path(__file__).with_name("guard.py"))


def _prctl() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """libc's prctl: no maintained library wraps PR_SET_CHILD_SUBREAPER (python-prctl is unmaintained),
    and it is one call."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


class Containment:
    """The pilot's side: the subreaper flag, the guard process, and the sweeps of what stages leave."""

    def __init__(self, token: str, marker: str, run_prefix: str, keep_daemons: bool = False,
                 adopts: bool = True) -> None:
        self.token, self.marker = token, marker.encode() + b"="
        self.run_prefix = run_prefix.encode()  # "<run id>/": attempt markers of this run
        self.keep_daemons = keep_daemons
        self.guard: int | None = None
        self._guard_fd: int | None = None
        self._lines: list[bytes] = []
        self._was_subreaper: int | None = None
        self._leaders: dict[int, int] = {}  # pid -> attempt id, of running stages
        self._ended_leaders: dict[int, int] = {}  # pid -> attempt id, recently ended (session owners)
        self._adopted: dict[int, int] = {}  # pid -> attempt id, leftovers of running stages (kept alive)
        self._foreign: set[int] = set()  # children that are no stage's (e.g. a helper of a kind), or kept
        self._interrupted: set[int] = set()  # attempts the pilot stopped: what they left is never kept
        self.resweep = False  # something may still be on its way to being re-parented to the pilot
        # Every child of the first thread but the guard is a stage's orphan, when the pilot runs in that
        # thread (`adopts`); a pilot run from another thread shares it with the caller's own children.
        self.adopts = adopts

    # -- life of the pilot ---------------------------------------------------------------------------
    def start(self) -> None:
        prctl = _prctl()
        if prctl is not None:
            flag = ctypes.c_int(0)
            if prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0:
                self._was_subreaper = flag.value
                prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self._spawn_guard()

    def _spawn_guard(self) -> None:
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        actions = [(os.POSIX_SPAWN_DUP2, read_fd, 0),
                   (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_DUP2, 1, 2)]
        argv = [sys.executable, "-I", "-S", _GUARD]
        try:
            self.guard = os.posix_spawn(sys.executable, argv, {}, file_actions=actions, setsid=True,
                                        setsigmask=())
        finally:
            os.close(read_fd)
        self._guard_fd = write_fd
        live = b"".join(b"+ %d %d\n" % (a, p) for p, a in self._leaders.items())
        self._write(b"T " + self.token.encode() + b"\n" + live)

    def close(self) -> None:
        """The pilot ends: end what stages left (unless kept), dismiss the guard, drop the subreaper flag."""
        deadline = time.monotonic() + 2.0
        self.sweep(final=True)
        while self.resweep and time.monotonic() < deadline:  # until what was killed is reaped
            time.sleep(0.01)
            self.sweep(final=True)
        if self._guard_fd is not None:
            self.flush()
            self._write(b"Q\n")
            os.close(self._guard_fd)
            self._guard_fd = None
        if self.guard is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.guard, 0)
            self.guard = None
        if self._was_subreaper == 0:
            prctl = _prctl()
            if prctl is not None:
                prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

    # -- stages -----------------------------------------------------------------------------------
    def started(self, attempt: int, pid: int) -> None:
        self._leaders[pid] = attempt
        self._lines.append(b"+ %d %d\n" % (attempt, pid))

    def ended(self, attempt: int, pid: int, interrupted: bool = False) -> None:
        """The stage's first process was reaped: end the rest of what it started (unless kept)."""
        self._leaders.pop(pid, None)
        self._lines.append(b"- %d\n" % attempt)
        if interrupted:
            self._interrupted.add(attempt)
        elif self.keep_daemons:
            return
        self._ended_leaders[pid] = attempt
        if len(self._ended_leaders) > 4096:  # only recent ones can still own a session worth looking at
            self._ended_leaders.pop(next(iter(self._ended_leaders)))
        try:
            os.killpg(pid, signal.SIGKILL)
            self.resweep = True  # killed members' own children reach the pilot a moment later
        except (ProcessLookupError, PermissionError):
            pass
        self.sweep()

    def flush(self) -> None:
        """Tell the guard what started and ended since the last flush (once per loop round)."""
        if self._lines:
            data, self._lines = b"".join(self._lines), []
            self._write(data)

    def _write(self, data: bytes) -> None:
        if self._guard_fd is None:
            return
        try:
            os.write(self._guard_fd, data)
        except BrokenPipeError:  # somebody killed the guard: start a new one, told everything again
            os.close(self._guard_fd)
            self._guard_fd = None
            if self.guard is not None:
                _reaped(self.guard)
            self._spawn_guard()

    # -- what stages leave behind -----------------------------------------------------------------
    def sweep(self, final: bool = False) -> None:
        """Reap and end the pilot's adopted children that belong to ended stages (all of them when `final`).

        A zombie child is reaped whoever it was: the pilot's own short-lived helpers (e.g. node for CWL
        expressions) are waited for by their owner in the loop's thread before the loop sweeps again."""
        self.resweep = False
        children = _children()
        self._foreign &= set(children)
        running = set(self._leaders.values())
        for pid in children:
            if pid in self._leaders or pid == self.guard or pid in self._foreign:
                continue
            if _reaped(pid):
                self._adopted.pop(pid, None)
                continue
            attempt = self._owner(pid)
            if attempt is None:
                if self.adopts and (final or not running) and not self.keep_daemons:
                    self._kill_tree(pid)  # an orphan of some stage, and none runs: its stage has ended
                elif not self.adopts:
                    self._foreign.add(pid)  # perhaps the caller's own child: never touched
            elif attempt == _OTHER_RUN:
                self._foreign.add(pid)
            elif attempt in running and not final:
                self._adopted[pid] = attempt  # a running stage's daemon: it ends with its stage
            elif self.keep_daemons and attempt not in self._interrupted:
                self._foreign.add(pid)  # kept on purpose
            else:
                self._kill_tree(pid)

    def _owner(self, pid: int) -> int | None:
        """The attempt of this run that a process belongs to: by its marker, else by its session."""
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            env = b""
        for item in env.split(b"\0"):
            if item.startswith(self.marker):
                value = item[len(self.marker):]
                if value.startswith(self.run_prefix) and value[len(self.run_prefix):].isdigit():
                    return int(value[len(self.run_prefix):])
                return _OTHER_RUN  # another run's stage (a cwlpilot inside a stage): not ours to judge
        try:
            session = os.getsid(pid)
        except OSError:
            return None
        return self._ended_leaders.get(session, self._leaders.get(session))

    def _kill_tree(self, pid: int) -> None:
        """SIGKILL a leftover and its descendants; they are reaped by the sweeps that follow."""
        self._adopted.pop(pid, None)
        try:
            tree = psutil.Process(pid).children(recursive=True)
        except psutil.Error:
            tree = []
        for victim in [pid, *(p.pid for p in tree)]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(victim, signal.SIGKILL)
        self.resweep = True


def _reaped(pid: int) -> bool:
    """Reap `pid` if it is a zombie child; True when it is gone."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:
        return True


_OTHER_RUN = -1


def _children() -> list[int]:
    """The children of the process's first thread: where the kernel re-parents orphans (`find_new_reaper`
    picks the first live thread of a subreaper). The pilot's loop, which starts the stages, runs in another."""
    try:
        fd = os.open(f"/proc/self/task/{os.getpid()}/children", os.O_RDONLY)
    except OSError:
        return []
    try:
        return [int(p) for p in os.read(fd, 1 << 16).split()]
    finally:
        os.close(fd)
