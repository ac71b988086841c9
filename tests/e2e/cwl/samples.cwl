# The commonest shape of real pipelines (arvados-tutorial's RNA-seq workflow): a step lists the files of a
# directory, and a per-sample sub-workflow is scattered over them; each sample's sub-workflow scatters
# again over what it produced. The label reaches the sub-workflow through valueFrom on an upstream value.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
  SubworkflowFeatureRequirement: {}
  StepInputExpressionRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  reads: Directory
  prefix: string
outputs:
  reads: {type: "int[]", outputSource: per_sample/reads}
  chunks: {type: "int[]", outputSource: per_sample/chunks}
  names: {type: "string[]", outputSource: per_sample/name}
steps:
  list:
    run:
      class: ExpressionTool
      requirements: {LoadListingRequirement: {loadListing: shallow_listing}}
      inputs: {dir: Directory, prefix: string}
      outputs: {fq: "File[]", label: string}
      expression: |
        ${ var fq = inputs.dir.listing.filter(function (f) { return f.basename.endsWith(".fq"); });
           fq.sort(function (a, b) { return a.basename < b.basename ? -1 : 1; });
           return {fq: fq, label: inputs.prefix.toUpperCase()}; }
    in: {dir: reads, prefix: prefix}
    out: [fq, label]
  per_sample:
    run: per_sample.cwl
    scatter: fq
    in:
      fq: list/fq
      label: {source: list/label, valueFrom: "$(self + '-run')"}
    out: [reads, chunks, name]
