"""What CWL and PanDA mean at run time, shared by the compiler and the executor.

`semantics.cwl`: command-line building, staging, expressions, parameter references, scatter, output
collection and value merging, as CWL defines them. `semantics.panda`: PanDA placeholders, dataset files and
names, loop instantiation and junction results. Pure functions on plain data: nothing here imports the
compiler or the executor.
"""
