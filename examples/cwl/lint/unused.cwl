cwlVersion: v1.2
class: Workflow
doc: cwl-unused-input and cwl-unused-output
inputs:
  message: string
  verbose: boolean
outputs:
  greeting: {type: File, outputSource: say/out}
steps:
  say:
    run: ../tools/echo.cwl
    in: {message: message}
    out: [out]
  shout:
    run: ../tools/echo.cwl
    in: {message: message}
    out: [out]
