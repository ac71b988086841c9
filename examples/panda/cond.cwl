cwlVersion: v1.2
class: Workflow

requirements:
  InlineJavascriptRequirement: {}

# top's command is an input of the workflow (PanDA's server gives a step an input's value, but writes
# %{name} only in the steps of a sub-workflow): cond-fail.yaml makes `top` fail, so that `bottom_NG` runs
# instead of `bottom_OK`
inputs:
  top_exec:
    type: string
    default: "echo %RNDM:10 > seed.txt"

outputs:
  outDS_OK:
    type: string
    outputSource: bottom_OK/outDS
  outDS_NG:
    type: string
    outputSource: bottom_NG/outDS

steps:
  top:
    run: prun
    in:
      opt_exec: top_exec
      opt_args:
        default: "--outputs seed.txt --nJobs 2"
    out: [outDS]

  bottom_OK:
    run: prun
    in:
      opt_inDS: top/outDS
      opt_exec:
        default: "echo %IN > results.txt"
      opt_args:
        default: "--outputs results.txt --forceStaged"
    out: [outDS]
    when: $(self.opt_inDS)

  bottom_NG:
    run: prun
    in:
      opt_inDS: top/outDS
      opt_exec:
        default: "echo hard luck > bad.txt"
      opt_args:
        default: "--outputs bad.txt"
    out: [outDS]
    when: $(!self.opt_inDS)
