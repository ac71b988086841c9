cwlVersion: v1.0
class: Workflow
inputs:
  message: string
outputs: []
steps:
  say:
    run: ../tools/echo.cwl
    when: $(inputs.message != "")
    in:
      message: message
    out: [out]
