cwlVersion: v1.2
class: Workflow
doc: Several independent mistakes; `cwlpilot check` must report all of them.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  name: string
  count: int
outputs:
  result:
    type: File
    outputSource: join/al
steps:
  say:
    run: ../tools/echo.cwl
    scatter: message
    in:
      message: name
    out: [out]
  join:
    run: ../tools/cat.cwl
    in:
      files: count
    out: [all]
  loud:
    run: ../tools/echo.cwl
    in:
      message: nam
    out: [out, err]
  ping:
    run: ../tools/echo.cwl
    in:
      message: pong/out
    out: [out]
  pong:
    run: ../tools/echo.cwl
    in:
      message: ping/out
    out: [out]
  idle:
    run: ../tools/cat.cwl
    in: {}
    out: [all]
