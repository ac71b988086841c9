#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: Workflow
dâ‚