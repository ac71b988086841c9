cwlVersion: v1.0
class: Workflow
inputs:
  name:
    type: string
    defualt: world
outputs:
  out:
    type: File
    outputSource: say/out
steps:
  say:
    run: ../tools/echo.cwl
    when: $(inputs.message != "")
    in:
      message: nme
    out: [out]
  again:
    run: ../tools/echo.cwl
    in:
      message: again/out
    out: [out]
