"""The environment a stage attempt starts with: the run's, O2DPG's additions, the stage's, the attempt's marks."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from cwlpilot.executor.containment import PILOT_VAR
from cwlpilot.executor.o2dpg import apply_alienv
from cwlpilot.executor.plan import Stage
from cwlpilot.executor.store.base import Store
from cwlpilot.executor.takeover import MARKER

_MARKER = MARKER.encode()
_PILOT = PILOT_VAR.encode()


class StageEnv:
    """Builds each attempt's environment, kept encoded: subprocess encodes every variable of every stage
    otherwise (90 variables x 10,000 stages is a measurable part of a short stage's cost)."""

    def __init__(self, run_id: str, global_env: Mapping[str, str], runner_env: Mapping[str, str],
                 alienv: Mapping[str, Mapping[str, str]]) -> None:
        self.run_id = run_id
        self.global_env = dict(global_env)
        self.alienv = {k: dict(v) for k, v in alienv.items()}
        # O2DPG: the global init task's env fills in what the runner's environment does not set; the runner
        # sets its own variables (JOBUTILS_SKIPDONE, ...) in that environment (executor.o2dpg.runner_env).
        env = {**self.global_env, **os.environ, **runner_env}
        self.base = {os.fsencode(k): os.fsencode(v) for k, v in env.items()}
        self.scratch = dict(self.base)
        self.token = b""  # the pilot's, once it is registered (executor.containment)

    @classmethod
    def of_run(cls, store: Store, run_id: str) -> StageEnv:
        """The environment the run's settings in its store give."""
        global_env = {k: str(v) for k, v in json.loads(store.get_meta("global_env") or "{}").items()}
        return cls(run_id, global_env, json.loads(store.get_meta("runner_env") or "{}"),
                   json.loads(store.get_meta("alienv") or "{}"))

    def for_attempt(self, stage: Stage, attempt_id: int, number: int,
                    extra: Mapping[str, str]) -> dict[bytes, bytes]:
        # One environment reused for every stage that adds nothing of its own: posix_spawn copies it at once,
        # and only the attempt's own keys change. Copying 100 variables per stage is measurable at 10k stages.
        env = self.scratch if not stage.env and not extra and not stage.alienv else dict(self.base)
        if stage.alienv and stage.alienv in self.alienv:  # O2DPG's `submit`
            env = apply_alienv(env, self.alienv[stage.alienv])
            for key, value in self.global_env.items():
                env.setdefault(os.fsencode(key), os.fsencode(value))
        for key, value in (*stage.env, *extra.items()):
            env[os.fsencode(key)] = os.fsencode(value)
        env[_MARKER] = f"{self.run_id}/{attempt_id}".encode()
        env[_PILOT] = self.token
        env[b"CWLPILOT_STAGE"] = os.fsencode(stage.name)
        env[b"CWLPILOT_ATTEMPT_NUMBER"] = str(number).encode()
        return env
