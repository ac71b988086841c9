cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  model: File
  clients: "int[]"
  round: int
  rounds: int
outputs:
  model: {type: File, outputSource: aggregate/model}
steps:
  train:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c]
      arguments: ['expr `cat "$0"` + "$1" > trained.txt', $(inputs.model.path), $(inputs.client)]
      inputs: {model: File, client: int}
      outputs:
        trained: {type: File, outputBinding: {glob: trained.txt}}
    scatter: client
    in: {model: model, client: clients}
    out: [trained]
  aggregate:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c]
      arguments: ['cat "$@" | awk "{s += \$1} END {print s}" > model.txt', sh]
      inputs: {models: {type: "File[]", inputBinding: {position: 1}}}
      outputs:
        model: {type: File, outputBinding: {glob: model.txt}}
    in: {models: train/trained}
    out: [model]
