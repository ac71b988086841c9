"""Shared builders for store tests: plans as StageRows, and finishing attempts."""

from cwlpilot.executor.graph import ranks
from cwlpilot.executor.plan import Stage
from cwlpilot.executor.store.base import ClaimRequest, Finish, StageRow


def stages(spec):
    """spec: {name: [needs]} in plan order -> Stage records."""
    return [Stage(name=n, cmd=f"run {n}", needs=tuple(needs), index=i) for i, (n, needs) in enumerate(spec.items())]


def rows(stage_list, retry_count=0):
    rank = ranks(stage_list)
    return [StageRow(id=s.index, name=s.name, spec="{}", fingerprint=s.fingerprint(), rank=rank[s.name],
                     needs=s.needs, cpu=1, mem=10, relative_cpu=None, semaphore=s.semaphore,
                     retry_count=retry_count) for s in stage_list]


def claim_all(store, pilot, now=0.0):
    ready = store.ready(1000)
    return store.claim(pilot, [ClaimRequest(r.id, 1, 10, False, r.semaphore) for r in ready], now)


def finish(claim, ok=True, retry=False, end=1.0):
    return Finish(attempt_id=claim.attempt_id, stage_id=claim.stage_id, ok=ok, retry=retry, end=end,
                  exit_code=0 if ok else 1, failure=None if ok else "exit", peak_mem=None, cpu_time=0.0, log="l",
                  reason="" if ok else "exit code 1")
