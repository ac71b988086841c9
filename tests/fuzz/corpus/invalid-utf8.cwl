#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: Workflow
doc: Grÿet everyone, then put all greetings in one file.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  names: string[]
outputs:
  greetings:
    type: File
    outputSource: join/all
steps:
  say:
    run: tools/echo.cwl
    scatter: message
    in:
      message: names
    out: [out]
  join:
    run: tools/cat.cwl
    in:
      files: say/out
    out: [all]
