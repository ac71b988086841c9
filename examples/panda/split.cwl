cwlVersion: v1.2
class: Workflow

# `make` writes 5 files (--nJobs 5); `count` reads them 2 per job (--nFilesPerJob 2). Their files do not
# exist before `make` ran, so `count` is split when it runs: `count.split` lists them and adds the stages
# count.job0, count.job1, count.job2 (run in parallel), and `count` gathers them. `total` adds up what every
# job wrote; `rescue` runs instead when a job of `count` failed (split-fail.yaml gives `count` a command
# that fails in job 1: the command is an input of the workflow).
inputs:
  count_exec:
    type: string
    default: "cat $(echo %IN | tr , ' ') | awk '{s += $1} END {print s}' > sum.txt"

outputs:
  outDS:
    type: string
    outputSource: total/outDS
  outDS_rescue:
    type: string
    outputSource: rescue/outDS

steps:
  make:
    run: prun
    in:
      opt_exec:
        default: "echo %RNDM:1 > n.txt"
      opt_args:
        default: "--outputs n.txt --nJobs 5"
    out: [outDS]

  count:
    run: prun
    in:
      opt_inDS: make/outDS
      opt_exec: count_exec
      opt_args:
        default: "--outputs sum.txt --nFilesPerJob 2"
    out: [outDS]

  total:
    run: prun
    in:
      opt_inDS: count/outDS
      opt_exec:
        default: "cat $(echo %IN | tr , ' ') | awk '{s += $1} END {print s}' > total.txt"
      opt_args:
        default: "--outputs total.txt"
    out: [outDS]
    when: $(self.opt_inDS)

  rescue:
    run: prun
    in:
      opt_inDS: count/outDS
      opt_exec:
        default: "echo rescued > rescue.txt"
      opt_args:
        default: "--outputs rescue.txt"
    out: [outDS]
    when: $(!self.opt_inDS)
