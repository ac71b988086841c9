"""Structural checks of a loaded workflow: references, types, required inputs, scatter, cycles, `when`.

Pure: takes the IR, returns every problem found as a list of diagnostics (nothing is raised), so the
caller can merge them with schema errors and report all at once. Steps whose `run` could not be
loaded (`run is None`) are checked only for what does not need their tool.
"""

from __future__ import annotations

from urllib.parse import unquote

from cwlpilot.compiler import cwltypes as T
from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Diagnostic


def validate(process: ir.Process | None) -> list[Diagnostic]:
    """Every structural problem in `process` and in the sub-workflows it runs (each checked once)."""
    found: list[Diagnostic] = []
    seen: set[str] = set()
    if isinstance(process, ir.Workflow):
        _workflow(process, found, seen)
    return found


def run_name(run: ir.Process) -> str:
    """How messages name a process: its file (and `#id` in a `$graph`), or `inline X`."""
    if "#" in run.uri and run.uri.endswith("/run"):
        return f"the inline {type(run).__name__}"
    path, _, frag = run.uri.partition("#")
    name = unquote(path.rsplit("/", 1)[-1])  # as the user wrote it: `a+b.cwl`, not `a%2Bb.cwl`
    return f"{name}#{frag}" if frag else name


def version_tuple(version: str) -> tuple[int, ...]:
    digits = version.lstrip("v").split(".")
    return tuple(int(d) for d in digits if d.isdigit())


def _workflow(
    wf: ir.Workflow, found: list[Diagnostic], seen: set[str], outer: tuple[ir.Workflow | ir.Step, ...] = ()
) -> None:
    if wf.uri in seen:
        return
    seen.add(wf.uri)
    first: dict[str, ir.Step] = {}
    for step in wf.steps:
        if first.setdefault(step.id, step) is not step:  # what cwl-utils reported, see loader._PlainMap
            found.append(Diagnostic(step.pos, f"Duplicate field '{step.id}': another step has this id", step.id,
                rule="cwl-duplicate-id"))
        _step(wf, step, found)
        _features(step, (step, wf, *outer), found)
    for out in wf.outputs:
        _workflow_output(wf, out, found)
    found.extend(_cycles(wf))
    for step in wf.steps:
        if isinstance(step.run, ir.Workflow):
            _workflow(step.run, found, seen, (step, wf, *outer))


def declares(holders: tuple[ir.Workflow | ir.Step, ...], cls: str) -> bool:
    """cwltool's `get_requirement`: the step's, then each enclosing workflow's requirements and hints."""
    return any(r.cls == cls for h in holders for r in (*h.requirements, *h.hints))


def _features(step: ir.Step, holders: tuple[ir.Workflow | ir.Step, ...], found: list[Diagnostic]) -> None:
    """What cwltool's `WorkflowStep.__init__` refuses to load: a sub-workflow or a scatter without its
    feature requirement."""
    if isinstance(step.run, ir.Workflow) and not declares(holders, "SubworkflowFeatureRequirement"):
        found.append(Diagnostic(step.pos, "Workflow contains embedded workflow but SubworkflowFeatureRequirement "
                                "not in requirements", step.id, rule="cwl-requirement"))
    if step.scatter and not declares(holders, "ScatterFeatureRequirement"):
        found.append(Diagnostic(step.pos, "Workflow contains scatter but ScatterFeatureRequirement not in "
                                "requirements", step.id, rule="cwl-requirement"))


def reference_problem(wf: ir.Workflow, source: str) -> str | None:
    """Why `source` names nothing in `wf`, or None when it is a valid reference."""
    if wf.input(source) is not None:
        return None
    step_id, _, port = source.partition("/")
    if not port:
        return f"unknown source '{source}': no workflow input or step output of that name"
    step = wf.step(step_id)
    if step is None:
        return f"unknown source '{source}': no step '{step_id}'"
    if all(o.id != port for o in step.outputs):
        return f"unknown source '{source}': step '{step_id}' has no output '{port}'"
    return None


def source_type(wf: ir.Workflow, source: str, conditional: bool = True) -> ir.CwlType:
    """The type a valid reference delivers (Any when it cannot be known); with `conditional`, null too
    when its step may be skipped (a `when`, or a loop that may not run at all)."""
    param = wf.input(source)
    if param is not None:
        return param.type
    step_id, _, port = source.partition("/")
    step = wf.step(step_id)
    out = step.run.output(port) if step is not None and step.run is not None else None
    if step is None or out is None:
        return "Any"
    result = T.normalize(out.type)
    depth = len(step.scatter) if step.scatter_method == "nested_crossproduct" else min(len(step.scatter), 1)
    for _ in range(depth):
        result = ir.ArrayType(result)
    if step.loop is not None and step.loop.output_method == "all":
        result = ir.ArrayType(T.optional(result) if conditional else result)
        return result  # never null: no iteration at all gives []
    return T.optional(result) if conditional and (step.when or step.loop) else result


def _step(wf: ir.Workflow, step: ir.Step, found: list[Diagnostic]) -> None:
    def report(pos: ir.Pos, message: str, rule: str) -> None:
        found.append(Diagnostic(pos, message, step.id, rule=rule))

    if step.when and version_tuple(wf.cwl_version) < (1, 2):
        report(step.pos, f"`when` needs cwlVersion v1.2 (this document is {wf.cwl_version})", "cwl-version")
    for inp in step.inputs:
        for source in inp.sources:
            problem = reference_problem(wf, source)
            if problem:
                report(inp.pos, f"input '{inp.id}': {problem}", "cwl-source")
    if len(step.scatter) > 1 and not step.scatter_method:
        report(step.pos, "scatter over several inputs needs a `scatterMethod`", "cwl-scatter")
    if step.loop is not None:
        _loop(step, step.loop, report)
    for name in step.scatter:
        if step.input(name) is None:
            report(step.pos, f"scatter names '{name}', which is not an input of the step", "cwl-scatter")
    if step.run is None:
        return
    _step_against_run(wf, step, step.run, report)


def _loop(step: ir.Step, loop: ir.Loop, report) -> None:  # type: ignore[no-untyped-def]
    """cwltool's `checker.loop_checker` and `update.rewrite_loop_requirements`, and the loop's sources."""
    if step.scatter:
        report(step.pos, "The `loop` clause is not compatible with the `scatter` directive.", "cwl-loop")
    if step.when is not None:
        report(loop.pos, "The `cwltool:Loop` clause is not compatible with the `when` directive.", "cwl-loop")
    outputs = {o.id for o in step.outputs}
    for entry in loop.inputs:
        for source in entry.sources:
            if source not in outputs:
                report(entry.pos, f"loop '{entry.id}': loopSource '{source}' is not an output of the step", "cwl-loop")


def _step_against_run(wf: ir.Workflow, step: ir.Step, run: ir.Process, report) -> None:  # type: ignore[no-untyped-def]
    name = run_name(run)
    for out in step.outputs:
        if run.output(out.id) is None:
            report(out.pos, f"output '{out.id}' is not an output of {name}", "cwl-connection")
    for param in run.inputs:
        connected = step.input(param.id)
        if connected is not None and (connected.sources or connected.has_default or connected.value_from):
            continue
        if not param.has_default and not T.accepts_null(param.type):
            report(
                step.pos,
                f"required input '{param.id}' ({ir.type_str(param.type)}) of {name} is not connected",
                "cwl-connection",
            )
    for inp in step.inputs:
        if not inp.sources or inp.value_from or any(reference_problem(wf, s) for s in inp.sources):
            continue
        if inp.id in step.scatter:
            delivered = T.merged([source_type(wf, s) for s in inp.sources], inp.link_merge, inp.pick_value)
            if not T.is_array(delivered):
                shown = ", ".join(f"'{s}'" for s in inp.sources)
                report(
                    inp.pos,
                    f"scatter over '{inp.id}', which is not an array: {shown} is {ir.type_str(delivered)}",
                    "cwl-scatter",
                )
                continue
        sink = run.input(inp.id)
        if sink is None:
            continue  # not an input of the tool: cwltool's sink is `Any`
        sink_type = ir.ArrayType(sink.type) if inp.id in step.scatter else sink.type
        for problem in link_problems(wf, inp.sources, inp.link_merge, inp.pick_value, sink_type):
            report(inp.pos, f"input '{inp.id}': type mismatch: {problem}, {name} expects {ir.type_str(sink.type)}",
                   "cwl-type")


def link_problems(
    wf: ir.Workflow, sources: tuple[str, ...], link_merge: str | None, pick_value: str | None, sink: ir.CwlType
) -> list[str]:
    """The sources cwltool's static checker rejects for this sink (`checker._check_all_types`): one source
    from a conditional step may be null; several are merged (merge_nested unless said otherwise) and each
    is checked on its own, with no linkMerge when pickValue picks one of them."""
    if len(sources) == 1 and link_merge is None:  # (`source: [x]` with a linkMerge is the list case)
        link, picked = None, pick_value
        types = [source_type(wf, sources[0])]
    else:
        link = link_merge or "merge_nested"
        if pick_value in ("first_non_null", "the_only_non_null"):
            link = None
        picked = pick_value
        types = [source_type(wf, s, conditional=False) for s in sources]
    found = []
    for source, t in zip(sources, types, strict=True):
        if T.check_link(t, sink, link, picked) == "exception":
            how = "".join(
                f" ({k} {v})" for k, v in (("linkMerge", link), ("pickValue", picked)) if v is not None
            )
            found.append(f"'{source}' is {ir.type_str(t)}{how}")
    return found


def _workflow_output(wf: ir.Workflow, out: ir.OutputParam, found: list[Diagnostic]) -> None:
    problems = [reference_problem(wf, s) for s in out.sources]
    for problem in problems:
        if problem:
            found.append(Diagnostic(out.pos, f"output '{out.id}': {problem}", rule="cwl-source"))
    if not out.sources:
        found.append(Diagnostic(out.pos, f"output '{out.id}' has no `outputSource`", rule="cwl-source"))
    if any(problems) or not out.sources:
        return
    for problem in link_problems(wf, out.sources, out.link_merge, out.pick_value, out.type):
        found.append(Diagnostic(out.pos, f"output '{out.id}': type mismatch: {problem}, the output is "
                                f"{ir.type_str(out.type)}", rule="cwl-type"))


def step_needs(wf: ir.Workflow, step: ir.Step) -> list[str]:
    """The steps of `wf` whose outputs `step` reads, in order of first use."""
    needs: dict[str, None] = {}
    for inp in step.inputs:
        for source in inp.sources:
            step_id, _, port = source.partition("/")
            if port and wf.step(step_id) is not None and wf.input(source) is None:
                needs[step_id] = None
    return list(needs)


def _cycles(wf: ir.Workflow) -> list[Diagnostic]:
    """One diagnostic per cycle (strongly connected component) among the steps."""
    edges = {s.id: step_needs(wf, s) for s in wf.steps}
    order: dict[str, int] = {}
    for i, s in enumerate(wf.steps):
        order.setdefault(s.id, i)
    found = []
    for component in _components(edges):
        first = min(component, key=order.__getitem__)
        if len(component) == 1 and first not in edges[first]:
            continue
        ring = " -> ".join([*sorted(component, key=order.__getitem__), first])
        step = wf.step(first)
        assert step is not None
        found.append(Diagnostic(step.pos, f"steps form a cycle: {ring}", first, rule="cwl-cycle"))
    return found


def _components(edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative, so deep graphs do not hit the stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if i < len(targets):
                work.append((node, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            for target in targets:
                if target in on_stack:
                    low[node] = min(low[node], low[target])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
    return result
