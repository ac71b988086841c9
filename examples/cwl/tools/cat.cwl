#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
doc: Concatenate files.
requirements:
  ResourceRequirement:
    coresMin: 2
    ramMin: 128
baseCommand: [cat]
inputs:
  files:
    type: File[]
    inputBinding:
      position: 1
stdout: all.txt
outputs:
  all:
    type: File
    outputBinding:
      glob: all.txt
