#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: Workflow
doc: Every greeting in every language (nested crossproduct); the shouting step runs only when asked.
requirements:
  ScatterFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  names: string[]
  greetings: string[]
  shout:
    type: boolean
    default: false
outputs:
  texts:
    type:
      type: array
      items: {type: array, items: File}
    outputSource: say/out
  loud:
    type: File?
    outputSource: loud/out
steps:
  say:
    run:
      class: CommandLineTool
      baseCommand: echo
      inputs:
        greeting: {type: string, inputBinding: {position: 1}}
        name: {type: string, inputBinding: {position: 2, prefix: --to=, separate: false}}
      stdout: greeting.txt
      outputs:
        out: stdout
    scatter: [greeting, name]
    scatterMethod: nested_crossproduct
    in:
      greeting: greetings
      name: names
    out: [out]
  loud:
    run: tools/echo.cwl
    when: $(inputs.enabled)
    in:
      enabled: shout
      message: {default: "HELLO"}
    out: [out]
