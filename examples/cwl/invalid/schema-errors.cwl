cwlVersion: v1.2
class: Workflow
inputs:
  x: string
  y:
    type: int
    badfield: 3
outputs: {}
steps:
  one:
    run: ../tools/echo.cwl
    in:
      message: x
    out: [out]
  two:
    in:
      message: x
    run: nothere.cwl
    out: [out]
