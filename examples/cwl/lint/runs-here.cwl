cwlVersion: v1.2
class: CommandLineTool
doc: cwl-docker-requirement and cwl-absolute-path
requirements:
  DockerRequirement: {dockerPull: "quay.io/biocontainers/samtools:1.19--h50ea8bc_0"}
  ResourceRequirement: {coresMin: 1, ramMin: 512}
baseCommand: [samtools, faidx]
inputs:
  reference:
    type: File
    default: {class: File, location: /home/alice/genomes/hg38.fa}
    inputBinding: {position: 1}
outputs:
  index: {type: File, outputBinding: {glob: "*.fai"}}
