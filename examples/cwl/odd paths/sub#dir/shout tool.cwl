cwlVersion: v1.1
class: CommandLineTool
baseCommand: [tr, a-z, A-Z]
inputs:
  text:
    type: File
    inputBinding: {position: 1}
stdout: loud.txt
outputs:
  loud: stdout
