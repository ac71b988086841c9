# A scattered sub-workflow whose `when` reads an upstream value; inside it a conditional step feeds a
# single-source `pickValue: first_non_null` output, which passes the null of a skipped step through (as
# cwltool 3.3 does), and the outer workflow drops the nulls with `all_non_null`.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
  SubworkflowFeatureRequirement: {}
  InlineJavascriptRequirement: {}
  MultipleInputFeatureRequirement: {}
inputs:
  n: int
outputs:
  big: {type: "int[]", outputSource: per/big, pickValue: all_non_null}
  raw: {type: "Any", outputSource: per/big}
  seen: {type: "int[]", outputSource: [per/big, extra/v], linkMerge: merge_flattened, pickValue: all_non_null}
steps:
  make:
    run:
      class: ExpressionTool
      inputs: {n: int}
      outputs: {xs: "int[]"}
      expression: "${ var a = []; for (var i = 0; i < inputs.n; i++) a.push(i); return {xs: a}; }"
    in: {n: n}
    out: [xs]
  per:
    run:
      class: Workflow
      inputs: {x: int}
      outputs:
        big: {type: "int?", outputSource: keep/v, pickValue: first_non_null}
      steps:
        keep:
          when: $(inputs.x > 1)
          run:
            class: ExpressionTool
            inputs: {x: int}
            outputs: {v: int}
            expression: "$({v: inputs.x * 10})"
          in: {x: x}
          out: [v]
    scatter: x
    when: $(inputs.x != 3)
    in: {x: make/xs}
    out: [big]
  extra:
    run:
      class: ExpressionTool
      inputs: {}
      outputs: {v: int}
      expression: "$({v: 7})"
    in: {}
    out: [v]
