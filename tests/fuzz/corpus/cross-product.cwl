cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs:
  a: string[]
  b: string[]
  c: string[]
outputs: []
steps:
  s:
    run: {class: CommandLineTool, baseCommand: echo, inputs: {x: string, y: string, z: string}, outputs: []}
    scatter: [x, y, z]
    scatterMethod: nested_crossproduct
    in: {x: a, y: b, z: c}
    out: []
