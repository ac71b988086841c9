cwlVersion: v1.2
class: Workflow
doc: cwl-undefined-input and cwl-javascript-requirement
requirements:
  StepInputExpressionRequirement: {}
inputs:
  message: string
outputs:
  greeting: {type: File?, outputSource: say/out}
steps:
  say:
    run: ../tools/echo.cwl
    when: $(inputs.enabled)
    in:
      message: {source: message, valueFrom: $(self.toUpperCase())}
    out: [out]
