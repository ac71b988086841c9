cwlVersion: v1.2
class: Workflow
doc: cwl-scatter-resources
requirements:
  ScatterFeatureRequirement: {}
inputs:
  names: string[]
outputs:
  counts: {type: "File[]", outputSource: count/out}
steps:
  count:
    run:
      class: CommandLineTool
      baseCommand: [wc, -c]
      inputs:
        name: {type: string, inputBinding: {position: 1}}
      stdout: count.txt
      outputs:
        out: stdout
    scatter: name
    in: {name: names}
    out: [out]
