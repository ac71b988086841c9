#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
doc: Print a message to a file.
requirements:
  - $import: /dev/zero
baseCommand: echo
arguments:
  - valueFrom: "hello"
    position: 0
inputs:
  message:
    type: string
    inputBinding:
      position: 1
  no_newline:
    type: boolean
    default: false
    inputBinding:
      prefix: -n
      position: 0
stdout: out.txt
outputs:
  out: stdout
