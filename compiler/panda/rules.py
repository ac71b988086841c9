"""The rules of PanDA documents' findings: one stable id per kind of finding, what it finds and the fix.

`compiler.rules` merges them with the CWL rules; examples/panda/README.md tells what PanDA's server does
in each case. A rule's severity is the one its findings usually have: a rule that follows what only some
panda-client releases refuse is a warning, and an error with `--panda-client` naming such a release.
"""

from __future__ import annotations

from cwlpilot.compiler.rules import Rule

_E, _W = "error", "warning"

PANDA_RULES: tuple[Rule, ...] = (
    # what PanDA's server refuses
    Rule("panda-server-load", _E, "cwl-utils, which PanDA's server loads every document with, refuses the document",
         "fix what the message names: a missing `run:` file, a duplicate key, `when` before v1.2"),
    Rule("panda-document", _E, "the document is not a workflow PanDA's server can read (structure)",
         "give every step `run`, `in` and `out`; `inputs`, `outputs` and `steps` as mappings or lists with ids"),
    Rule("panda-output-source", _E, "an output without one `outputSource` STEP/OUTPUT: the server fails on it",
         "write `outputSource: STEP/outDS`"),
    Rule("panda-unknown-input", _E, "an input a prun/junction/phpo step does not know (Node.verify refuses it)",
         "use one of the kind's `opt_*` inputs (the message suggests the nearest)"),
    Rule("panda-required-input", _E, "a step without an input its kind needs (a KeyError on the server)",
         "give the input the message names (`opt_exec`, `opt_args`, ...)"),
    Rule("panda-input-value", _E, "an input whose value the server cannot use (a list for a string, ...)",
         "give the value of the type the message names"),
    Rule("panda-inputs", _E, "the inputs file is empty or not a mapping", "write `{}` or the inputs' values"),
    Rule("panda-scatter", _E, "a scatter the server cannot make (over no input, a non-array, a single name)",
         "write `scatter: [NAME]` over an input with a source that delivers an array"),
    Rule("panda-cycle", _E, "steps that read each other's outputs in a ring", "break the cycle"),
    Rule("panda-when", _E, "a condition the server cannot convert", "write `$(self.X)` or `$(!self.X)` of the "
         "step's own inputs, joined by `&&` or `||`"),
    Rule("panda-opt-args", _E, "opt_args that panda-client's parser refuses", "fix the option the message names"),
    Rule("panda-exec", _E, "an empty opt_exec: panda-client refuses the step", "give the command in opt_exec"),
    Rule("panda-secondary-ds", _E, "a --secondaryDSs entry prun refuses", "write STREAM#NFILES#DATASET"),
    Rule("panda-loop", _E, "a loop the server cannot make (a parameter without an initial value)",
         "give each loop parameter a default"),
    Rule("panda-limit", _E, "beyond a limit of cwlpilot (instances of a scatter, the size of the plan)",
         "split the workflow"),
    Rule("panda-stage-name", _E, "a step whose stage names no file system can hold", "use shorter step names"),
    Rule("panda-dataset", _E, "`run` or `compile`: a dataset without a local folder",
         "give --dataset NAME=DIR or map it in datasets.yaml"),
    # what it accepts, very likely a mistake
    Rule("panda-output-unknown-step", _W, "an output whose outputSource names no step: the server ignores it",
         "name an existing STEP/outDS"),
    Rule("panda-unresolved", _W, "a value of a sub-workflow's step that is unresolved (not verified there)",
         "give the input a source or a default"),
    Rule("panda-subworkflow-input", _W, "a sub-workflow input not given, or given but not declared",
         "give the sub-workflow's inputs by their names"),
    Rule("panda-unverified-input", _W, "an unknown input of a step in a sub-workflow (the server ignores it)",
         "use one of the kind's `opt_*` inputs"),
    Rule("panda-secondary-ds-placeholder", _W, "%{DSn} in --secondaryDSs: the task reads a dataset named %{DS1}",
         "name secondaries with %{SECDSn} and give them in opt_secondaryDSs"),
    Rule("panda-ds-placeholder-in-args", _W, "%{DSn} in opt_args reaches the task as written",
         "use the placeholder in opt_exec"),
    Rule("panda-secondary-ds-colon", _W, "a dataset name with `:` in a --secondaryDSs entry written with `:`",
         "write the entry with `#` (STREAM#NFILES#DATASET)"),
    Rule("panda-secondary-stream-name", _W, "a --secondaryDSs stream named with `%`", "name the stream without `%`"),
    Rule("panda-secondary-unused", _W, "a dataset of opt_secondaryDSs that no --secondaryDSs entry reads",
         "add STREAM:NFILES:%{SECDSn} for it"),
    Rule("panda-secondary-string", _W, "opt_secondaryDSs as one string: the server reads each character as a "
         "dataset", "write a list"),
    Rule("panda-intype-characters", _W, "one opt_inDsType for several datasets: paired with its characters",
         "give a list of types"),
    Rule("panda-output-suffix", _W, "--outputs SUFFIX:file: readers look for the file's name",
         "name the output file alone"),
    Rule("panda-option-in-args", _W, "--exec, --inDS, --outDS or --containerImage in opt_args: the server's "
         "own comes after it", "give them in opt_exec, opt_inDS, ... instead"),
    Rule("panda-toplevel-placeholder", _W, "%{name} or %{i} in a top-level step: left as written",
         "use them only in steps of a sub-workflow"),
    Rule("panda-unknown-placeholder", _W, "a placeholder that names nothing: left as written",
         "name an input of the enclosing sub-workflow"),
    Rule("panda-unknown-stream", _W, "%INx or %NAME that no --secondaryDSs entry defines",
         "define the stream in --secondaryDSs"),
    Rule("panda-iteration-outside-loop", _W, "%{i} outside a loop reads 1", "use %{i} in a loop's body"),
    Rule("panda-exec-script-missing", _W, "a script opt_exec runs that is not in the workflow's folder",
         "put the script beside the workflow (PanDA ships that folder)"),
    Rule("panda-junction-no-results", _W, "a junction that never writes results.json",
         "write results.json (e.g. {\"to_terminate\": true})"),
    Rule("panda-loop-hint-ignored", _W, "a loop hint the server ignores (on a leaf step, or not `hints: [loop]`)",
         "put `hints: [loop]` on a sub-workflow step"),
    Rule("panda-loop-without-junction", _W, "a loop body without a junction runs once",
         "add a junction step that decides"),
    Rule("panda-loop-junctions", _W, "a loop body with several junctions: only the first decides",
         "keep one junction"),
    Rule("panda-reserved-parameter", _W, "a loop parameter named `i` (reserved: the loop count)",
         "rename the parameter"),
    Rule("panda-scatter-method", _W, "scatterMethod is ignored: arrays are paired element by element",
         "drop scatterMethod, or scatter over one array"),
    Rule("panda-scatter-lengths", _W, "a scatter over arrays of different lengths", "give arrays of one length"),
    Rule("panda-subworkflow-tails", _W, "a reader of a sub-workflow's output gets every step's dataset",
         "read the step's output inside the sub-workflow instead"),
    Rule("panda-client-option", _W, "an option only some panda-client releases know",
         "drop it, or check with --panda-client VERSION"),
    Rule("panda-client-memory-question", _W, "--memory above 4000 MB/core without -y: newer clients ask a question",
         "add -y, or book less memory"),
    Rule("panda-junction-force-staged-secondary", _W, "a junction reading a dataset gets --forceStagedSecondary, "
         "which panda-client 1.6.17 and later refuse", "check with --panda-client VERSION"),
    Rule("panda-not-local", _W, "a step that only PanDA runs (phpo, reana, gitlab, ...): valid, cannot run here",
         "run it on PanDA; `--ignore panda-not-local` for workflows meant for PanDA only"),
)
