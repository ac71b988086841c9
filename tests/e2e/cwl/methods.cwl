# A sub-workflow scattered with each scatter method over two arrays produced upstream.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
  SubworkflowFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  n: int
outputs:
  dot: {type: "string[]", outputSource: dot/s}
  flat: {type: "string[]", outputSource: flat/s}
  nested: {type: {type: array, items: {type: array, items: string}}, outputSource: nested/s}
steps:
  make:
    run:
      class: ExpressionTool
      inputs: {n: int}
      outputs: {xs: "int[]", ys: "string[]"}
      expression: "${ var x = [], y = []; for (var i = 0; i < inputs.n; i++) { x.push(i); y.push('abc'[i]); } return {xs: x, ys: y}; }"
    in: {n: n}
    out: [xs, ys]
  dot: {run: pair.cwl, scatter: [x, y], scatterMethod: dotproduct, in: {x: make/xs, y: make/ys}, out: [s]}
  flat: {run: pair.cwl, scatter: [x, y], scatterMethod: flat_crossproduct, in: {x: make/xs, y: make/ys}, out: [s]}
  nested: {run: pair.cwl, scatter: [x, y], scatterMethod: nested_crossproduct, in: {x: make/xs, y: make/ys}, out: [s]}
