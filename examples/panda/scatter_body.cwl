cwlVersion: v1.0
class: Workflow

requirements:
  ScatterFeatureRequirement: {}
  SubworkflowFeatureRequirement: {}

# A loop over a scatter: each iteration runs loop_main.cwl once per element of the parameter arrays;
# the junction reads all their values and updates the whole arrays (decide_all.py).
inputs:
  dataset: string
  param_xxx:
    type: int[]
    default: [123, 456]
  param_yyy:
    type: float[]
    default: [0.456, 0.866]
  param_threshold:
    type: float
    default: 2000

outputs:
  outDS:
    type: string
    outputSource: parallel_work/outDS

steps:
  parallel_work:
    run: loop_main.cwl
    scatter: [param_xxx, param_yyy]
    scatterMethod: dotproduct
    in:
      dataset: dataset
      param_xxx: param_xxx
      param_yyy: param_yyy
    out: [outDS]

  checkpoint:
    run: junction
    in:
      opt_inDS: parallel_work/outDS
      opt_exec:
        default: "python3 decide_all.py %IN %{xxx} %{yyy} %{threshold}"
    out: []
