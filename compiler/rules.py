"""The rules of `check`'s findings for CWL documents and stages plans: stable ids, what each finds, the fix.

Every finding carries one rule id (`Diagnostic.rule`), which `--select`, `--ignore`, a `# cwlpilot:
ignore[RULE]` comment and SARIF's `ruleId` use. Ids never change meaning once published; a new kind of
finding gets a new id. PanDA documents' rules are in `compiler.panda.rules`; `compiler.findings` has them
all. `unreadable` rules (a file that cannot be read as a document at all) cannot be ignored, as a linter
cannot ignore a syntax error: nothing else in that file was checked.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITY_ORDER = ("error", "warning", "note")


@dataclass(frozen=True)
class Rule:
    """A kind of finding: `severity` is the one its findings have unless the message says otherwise."""

    id: str
    severity: str
    summary: str
    fix: str
    unreadable: bool = False


_E, _W = "error", "warning"

CWL_RULES: tuple[Rule, ...] = (
    Rule("cwl-read", _E, "a file that cannot be read as a document (not UTF-8, binary, too large, missing)",
         "save the file as UTF-8 text (at most 4 MB)", unreadable=True),
    Rule("cwl-yaml", _E, "YAML that does not parse", "fix the syntax at the line and column given",
         unreadable=True),
    Rule("cwl-limit", _E, "a document beyond a limit of the compiler (nesting, aliases, values, steps)",
         "split the document (the limits are in README, 'Exit codes, limits and hostile input')",
         unreadable=True),
    Rule("cwl-schema", _E, "what the CWL schema refuses (schema-salad, as cwltool validates): a missing or "
         "unknown field, a value of the wrong kind, a reference to nothing", "fix the field the message names"),
    Rule("cwl-version", _E, "a feature the document's cwlVersion does not have (`when`, `cwltool:Loop` before "
         "v1.2)", "write `cwlVersion: v1.2`"),
    Rule("cwl-requirement", _E, "a sub-workflow or a scatter without its feature requirement",
         "add SubworkflowFeatureRequirement or ScatterFeatureRequirement to the workflow's requirements"),
    Rule("cwl-type", _E, "an unknown type, or a connection whose source type cannot fit its sink "
         "(cwltool's checker.check_types)", "connect a source of the type the sink expects"),
    Rule("cwl-source", _E, "a `source` or `outputSource` that names no workflow input or step output",
         "name an existing input, or STEP/OUTPUT of a step's `out`"),
    Rule("cwl-connection", _E, "a required input of a step's tool left unconnected, or a step `out` that the "
         "tool does not have", "connect the input (source, default or valueFrom), or drop the output"),
    Rule("cwl-scatter", _E, "a scatter over something that is not an array or not an input of the step, or "
         "over several inputs without `scatterMethod`", "scatter over array inputs of the step"),
    Rule("cwl-cycle", _E, "steps that need each other's outputs in a ring", "break the cycle"),
    Rule("cwl-duplicate-id", _E, "two steps with one id", "rename one of them"),
    Rule("cwl-loop", _E, "a `cwltool:Loop` cwltool refuses (no loopWhen, with scatter or when, under hints)",
         "write the loop as cwltool's extension documents it"),
    Rule("cwl-run", _E, "a step's `run` that cannot be loaded, or that runs itself", "fix the `run` path"),
    Rule("cwl-inputs", _E, "an inputs file that does not fit the workflow's inputs",
         "give each required input a value of its type"),
    Rule("cwl-target", _E, "a `--target` (of `run` and `cwl-runner`, as cwltool's) naming no step or output of the "
         "workflow", "name a step or a workflow output"),
    Rule("cwl-javascript-requirement", _E, "JavaScript (`${...}`, or `$(...)` beyond a parameter reference) "
         "without InlineJavascriptRequirement, which the CWL specification requires for it",
         "add `InlineJavascriptRequirement: {}` to the requirements (of the tool, or of the workflow for "
         "`when` and `valueFrom`)"),
    Rule("cwl-unused-input", _W, "a workflow input that no step and no output reads",
         "connect it to a step input, or remove it"),
    Rule("cwl-unused-output", _W, "a step output (in `out`) that no step and no workflow output reads",
         "read it, or drop it from the step's `out`"),
    Rule("cwl-undefined-input", _W, "an expression (`when`, `valueFrom`, a tool's bindings and requirements) "
         "that reads `inputs.X` where the process has no input X: it is null (or undefined) when it runs",
         "name an input of the process (for `when` and a step's `valueFrom`: of the step's `in`)"),
    Rule("cwl-docker-requirement", _W, "DockerRequirement under `requirements`: cwlpilot drives no container "
         "engine, so the tool cannot run here (cwl-runner exits 33)",
         "move DockerRequirement to `hints` to run the command on the host"),
    Rule("cwl-absolute-path", _W, "a default File or Directory at an absolute host path, which exists only on "
         "the machine it was written on", "give the path relative to the document, or the value in the inputs"),
    Rule("cwl-scatter-resources", _W, "a tool scattered without ResourceRequirement: each instance is booked at "
         "the default of 1 core and 256 MB, whatever it uses",
         "give the tool (or the step) a ResourceRequirement with coresMin and ramMin"),
)

PLAN_RULES: tuple[Rule, ...] = (
    Rule("plan-read", _E, "a plan file that cannot be read as JSON (not UTF-8, nested too deeply, huge numbers), "
         "or is no object with `stages`", "fix the JSON at the line and column given", unreadable=True),
    Rule("plan-schema", _E, "what schemas/stages.schema.json refuses: an unknown key, a value of the wrong kind",
         "fix the key the message names (keys of your own may start with `x-`)"),
    Rule("plan-needs", _E, "`needs` naming no stage", "name an existing stage (the message suggests one)"),
    Rule("plan-duplicate-name", _E, "two stages with one name", "rename one of them"),
    Rule("plan-cycle", _E, "stages that need each other in a ring", "break the cycle"),
    Rule("plan-kind", _E, "a stage `kind` this cwlpilot does not run", "use one of the kinds the message lists"),
    Rule("plan-condition", _E, "a `condition` that does not parse or tests a stage it does not need",
         "test only stages in `needs`"),
    Rule("internal-plan-schema", _E, "a plan the compiler made does not match the schema: a bug in cwlpilot",
         "report it, with the document"),
)
