# Federated learning as streamflow-fl writes it: a model is initialised, then each round trains it on
# every client (a scatter inside the loop's body) and averages the results, until `rounds` rounds ran.
# The round counter is fed back through valueFrom, the model through loopSource.
cwlVersion: v1.2
class: Workflow
$namespaces:
  cwltool: "http://commonwl.org/cwltool#"
requirements:
  InlineJavascriptRequirement: {}
  SubworkflowFeatureRequirement: {}
  ScatterFeatureRequirement: {}
  StepInputExpressionRequirement: {}
inputs:
  clients: "int[]"
  rounds: int
outputs:
  model: {type: File, outputSource: loop/model}
  history: {type: "File[]", outputSource: history/model}
steps:
  init:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, "echo 0 > model.txt"]
      inputs: []
      outputs:
        model: {type: File, outputBinding: {glob: model.txt}}
    in: {}
    out: [model]
  loop:
    run: round.cwl
    in:
      model: init/model
      clients: clients
      round: {default: 0}
      rounds: rounds
    out: [model]
    requirements:
      cwltool:Loop:
        loopWhen: $(inputs.round < inputs.rounds)
        loop:
          round: {valueFrom: $(inputs.round + 1)}
          model: model
        outputMethod: last
  history:
    run: round.cwl
    in:
      model: init/model
      clients: clients
      round: {default: 0}
      rounds: rounds
    out: [model]
    requirements:
      cwltool:Loop:
        loopWhen: $(inputs.round < inputs.rounds)
        loop:
          round: {valueFrom: $(inputs.round + 1)}
          model: model
        outputMethod: all
