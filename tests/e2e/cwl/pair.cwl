cwlVersion: v1.2
class: Workflow
inputs: {x: int, y: string}
outputs:
  s: {type: string, outputSource: join/s}
steps:
  join:
    run:
      class: CommandLineTool
      baseCommand: echo
      arguments: [-n, $(inputs.y)$(inputs.x)]
      inputs: {x: int, y: string}
      stdout: s.txt
      outputs:
        s:
          type: string
          outputBinding: {glob: s.txt, loadContents: true, outputEval: "$(self[0].contents)"}
      requirements: {InlineJavascriptRequirement: {}}
    in: {x: x, y: y}
    out: [s]
