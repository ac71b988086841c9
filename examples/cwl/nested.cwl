#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: Workflow
doc: Run the greeting workflow as a sub-workflow, then count its lines unless told not to.
requirements:
  SubworkflowFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  names: string[]
  count:
    type: boolean
    default: true
outputs:
  greetings:
    type: File
    outputSource: greet/greetings
  lines:
    type: File?
    outputSource: count_lines/lines
steps:
  greet:
    run: greet.cwl
    in:
      names: names
    out: [greetings]
  count_lines:
    when: $(inputs.enabled)
    in:
      enabled: count
      file: greet/greetings
    out: [lines]
    run:
      class: CommandLineTool
      baseCommand: [wc, -l]
      inputs:
        enabled: boolean
        file:
          type: File
          inputBinding: {position: 1}
      stdout: lines.txt
      outputs:
        lines: stdout
