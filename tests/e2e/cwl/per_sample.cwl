# One sample: count its reads, split it into one chunk per read, measure each chunk (a scatter over
# the chunks the split produced), then add the measures up.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  fq: File
  label: {type: string, default: sample}
outputs:
  reads: {type: int, outputSource: count/n}
  chunks: {type: int, outputSource: total/n}
  name: {type: string, outputSource: count/name}
steps:
  count:
    run:
      class: CommandLineTool
      baseCommand: [wc, -l]
      stdin: $(inputs.fq.path)
      inputs: {fq: File, label: string}
      stdout: n.txt
      outputs:
        n: {type: int, outputBinding: {glob: n.txt, loadContents: true, outputEval: "$(parseInt(self[0].contents))"}}
        name: {type: string, outputBinding: {outputEval: "$(inputs.label + ':' + inputs.fq.nameroot)"}}
    in: {fq: fq, label: label}
    out: [n, name]
  split:
    run:
      class: CommandLineTool
      baseCommand: [split, -l, "1"]
      inputs: {fq: {type: File, inputBinding: {position: 1}}}
      arguments: [{position: 2, valueFrom: chunk_}]
      outputs:
        parts: {type: "File[]", outputBinding: {glob: "chunk_*"}}
    in: {fq: fq}
    out: [parts]
  measure:
    run:
      class: CommandLineTool
      baseCommand: [wc, -c]
      stdin: $(inputs.part.path)
      inputs: {part: File}
      stdout: c.txt
      outputs:
        bytes: {type: int, outputBinding: {glob: c.txt, loadContents: true, outputEval: "$(parseInt(self[0].contents))"}}
    scatter: part
    in: {part: split/parts}
    out: [bytes]
  total:
    run:
      class: ExpressionTool
      inputs: {bytes: "int[]"}
      outputs: {n: int}
      expression: "$({n: inputs.bytes.length})"
    in: {bytes: measure/bytes}
    out: [n]
