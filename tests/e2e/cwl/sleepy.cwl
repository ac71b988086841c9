# For kill-and-resume: a loop whose body scatters a sub-workflow over values the body computes; every
# tool run appends to a ledger (`start V` / `end V`) so a test can see what ran, and how many times.
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
  rounds: int
  ledger: string
outputs:
  values: {type: "int[]", outputSource: loop/values}
steps:
  loop:
    in: {round: {default: 0}, rounds: rounds, ledger: ledger}
    out: [values]
    requirements:
      cwltool:Loop:
        loopWhen: $(inputs.round < inputs.rounds)
        loop:
          round: {valueFrom: $(inputs.round + 1)}
        outputMethod: all
    run:
      class: Workflow
      inputs: {round: int, ledger: string}
      outputs:
        values: {type: int, outputSource: sum/total}
      steps:
        make:
          run:
            class: ExpressionTool
            inputs: {round: int}
            outputs: {xs: "int[]"}
            expression: "$({xs: [inputs.round * 10, inputs.round * 10 + 1]})"
          in: {round: round}
          out: [xs]
        work:
          scatter: x
          in: {x: make/xs, ledger: ledger}
          out: [y]
          run:
            class: Workflow
            inputs: {x: int, ledger: string}
            outputs: {y: {type: int, outputSource: slow/y}}
            steps:
              slow:
                in: {x: x, ledger: ledger}
                out: [y]
                run:
                  class: CommandLineTool
                  baseCommand: [sh, -c]
                  arguments:
                    - 'echo start $0 >> "$1"; sleep 0.3; echo $0 > y.txt; echo end $0 >> "$1"'
                    - $(inputs.x)
                    - $(inputs.ledger)
                  inputs: {x: int, ledger: string}
                  outputs:
                    y: {type: int, outputBinding: {glob: y.txt, loadContents: true, outputEval: "$(parseInt(self[0].contents))"}}
        sum:
          run:
            class: ExpressionTool
            inputs: {ys: "int[]"}
            outputs: {total: int}
            expression: "$({total: inputs.ys.reduce(function (a, b) { return a + b; }, 0)})"
          in: {ys: work/y}
          out: [total]
