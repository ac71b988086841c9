cwlVersion: v1.2
class: Workflow
doc: panda-not-local, a step only PanDA runs
inputs: []
outputs: []
steps:
  hpo:
    run: phpo
    in:
      opt_args: {default: "--loadJson conf.json --maxPoints 10"}
    out: [outDS]
