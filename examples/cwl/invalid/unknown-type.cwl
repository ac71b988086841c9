cwlVersion: v1.2
class: CommandLineTool
inputs:
  x: Strin
outputs: []
baseCommand: "true"
