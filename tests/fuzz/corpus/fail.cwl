cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'exit 3']
inputs: []
outputs: []
