cwlVersion: v1.0
class: Workflow

# One iteration: top writes xxx, bottom computes xxx * yyy, the junction (decide.py) reads that value,
# stops the loop once it passes the threshold, else asks for xxx + 1 and yyy * 2.
inputs:
  dataset:
    type: string
  param_xxx:
    type: int
    default: 123
  param_yyy:
    type: float
    default: 0.456
  param_threshold:
    type: float
    default: 500

outputs:
  outDS:
    type: string
    outputSource: inner_work_bottom/outDS

steps:
  inner_work_top:
    run: prun
    in:
      opt_inDS: dataset
      opt_exec:
        default: "echo %{xxx} > seed.txt"
      opt_args:
        default: "--outputs seed.txt --avoidVP"
    out: [outDS]

  inner_work_bottom:
    run: prun
    in:
      opt_inDS: inner_work_top/outDS
      opt_exec:
        default: "python3 multiply.py %IN %{yyy} > results.root"
      opt_args:
        default: "--outputs results.root --forceStaged"
    out: [outDS]

  checkpoint:
    run: junction
    in:
      opt_inDS:
        - inner_work_top/outDS
        - inner_work_bottom/outDS
      opt_exec:
        default: "python3 decide.py %{DS2} %{xxx} %{yyy} %{threshold} %{i}"
    out: []
