cwlVersion: v1.1
class: Workflow
inputs:
  text: File
outputs:
  loud:
    type: File
    outputSource: shout/loud
steps:
  shout:
    run: "sub%23dir/shout%20tool.cwl"
    in:
      text: text
    out: [loud]
