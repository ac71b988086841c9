"""PanDA-style CWL (`run: prun`, `run: junction`, loops with `param_*` dictionaries): parse, check, emit."""
