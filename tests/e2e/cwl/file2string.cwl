# NCI-GDC's json_file_to_string.cwl shape: v1.0, and a `valueFrom` in the binding that cwltool ignores.
cwlVersion: v1.0
class: ExpressionTool
requirements: {InlineJavascriptRequirement: {}}
inputs:
  - id: input
    type: File
    inputBinding:
      loadContents: true
      valueFrom: $(null)
outputs:
  - id: output
    type: string
expression: "${ return {'output': inputs.input.contents}; }"
