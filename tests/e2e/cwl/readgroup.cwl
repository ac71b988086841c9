# kids-first's expression_preparerg.cwl shape: a v1.2 ExpressionTool input with
# `inputBinding: {loadContents: true}` (cwl-utils gives it a binding class without `position`).
cwlVersion: v1.2
class: ExpressionTool
requirements: {InlineJavascriptRequirement: {}}
inputs:
  rg:
    type: File?
    inputBinding: {loadContents: true}
  sample: string
outputs:
  rg_str: string?
expression: |
  ${ if (inputs.rg == null) { return {rg_str: null}; }
     return {rg_str: inputs.rg.contents.trim().replace(/SM:[^\t]*/, "SM:" + inputs.sample)}; }
