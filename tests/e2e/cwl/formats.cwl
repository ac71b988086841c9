# File formats as cwltool checks them: on a parameter, on record fields and array items, with
# subclasses from the ontology of `$schemas`; a step's input is checked when the upstream file is known.
cwlVersion: v1.2
class: Workflow
$namespaces: {edam: "http://edamontology.org/"}
$schemas: [formats.ttl]
requirements: {InlineJavascriptRequirement: {}}
inputs:
  text: {type: File, format: edam:format_2330}
  bundle:
    type:
      type: record
      fields:
        main: {type: File, format: edam:format_1929}
        more: {type: "File[]", format: edam:format_2330}
  relabel_as: {type: string, default: "http://edamontology.org/format_1929"}
outputs:
  out: {type: File, outputSource: relabel/out}
steps:
  relabel:
    run:
      class: CommandLineTool
      baseCommand: cat
      inputs:
        f: {type: File, format: edam:format_2330, inputBinding: {}}
        fmt: string
      stdout: out.txt
      outputs:
        out: {type: stdout, format: $(inputs.fmt)}
    in: {f: text, fmt: relabel_as}
    out: [out]
  check:
    run:
      class: ExpressionTool
      inputs: {f: {type: File, format: edam:format_2330}}
      outputs: {ok: boolean}
      expression: "$({ok: true})"
    in: {f: relabel/out}
    out: [ok]
