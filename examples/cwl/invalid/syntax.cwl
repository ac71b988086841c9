cwlVersion: v1.2
class: Workflow
inputs:
  x: string
outputs: {}
steps: [one, two
