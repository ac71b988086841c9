x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]
x1: &x1 [*x0, *x0, *x0, *x0, *x0, *x0, *x0, *x0, *x0]
x2: &x2 [*x1, *x1, *x1, *x1, *x1, *x1, *x1, *x1, *x1]
x3: &x3 [*x2, *x2, *x2, *x2, *x2, *x2, *x2, *x2, *x2]
x4: &x4 [*x3, *x3, *x3, *x3, *x3, *x3, *x3, *x3, *x3]
x5: &x5 [*x4, *x4, *x4, *x4, *x4, *x4, *x4, *x4, *x4]
x6: &x6 [*x5, *x5, *x5, *x5, *x5, *x5, *x5, *x5, *x5]
x7: &x7 [*x6, *x6, *x6, *x6, *x6, *x6, *x6, *x6, *x6]
x8: &x8 [*x7, *x7, *x7, *x7, *x7, *x7, *x7, *x7, *x7]
#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
doc: Print a message to a file.
requirements:
  ResourceRequirement:
    coresMin: 1
    ramMin: 64
  ToolTimeLimit:
    timelimit: 60
baseCommand: echo
arguments:
  - valueFrom: "hello"
    position: 0
inputs:
  message:
    type: string
    inputBinding:
      position: 1
  no_newline:
    type: boolean
    default: false
    inputBinding:
      prefix: -n
      position: 0
stdout: out.txt
outputs:
  out: stdout
