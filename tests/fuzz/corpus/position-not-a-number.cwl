#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
doc: Print a message to a file.
requirements:
  ResourceRequirement:
    coresMin: 1
    ramMin: 64
  ToolTimeLimit:
    timelimit: 60
baseCommand: echo
arguments:
  - valueFrom: "hello"
    position: 0
inputs:
  message:
    type: string
    inputBinding:
      position: zzzz
  no_newline:
    type: boolean
    default: false
    inputBinding:
      prefix: -n
      position: 0
stdout: out.txt
outputs:
  out: stdout
