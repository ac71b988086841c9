# An ExpressionTool returns a Directory made of files an upstream step wrote: only the Directory lands in
# --outdir (cwltool's layout), and an output File that lies inside it is found there.
cwlVersion: v1.2
class: Workflow
requirements: {InlineJavascriptRequirement: {}}
inputs: []
outputs:
  bundle: {type: Directory, outputSource: pack/d}
  first: {type: File, outputSource: make/a}
  other: {type: File, outputSource: again/a}
steps:
  make:
    run: &make
      class: CommandLineTool
      baseCommand: [sh, -c, "echo one > a.txt; echo two > b.txt"]
      inputs: []
      outputs:
        a: {type: File, outputBinding: {glob: a.txt}}
        b: {type: File, outputBinding: {glob: b.txt}}
    in: {}
    out: [a, b]
  again:
    run: *make
    in: {}
    out: [a]
  pack:
    run:
      class: ExpressionTool
      inputs: {a: File, b: File}
      outputs: {d: Directory}
      expression: '$({d: {class: "Directory", basename: "bundle", listing: [inputs.a, inputs.b]}})'
    in: {a: make/a, b: make/b}
    out: [d]
