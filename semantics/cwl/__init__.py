"""CWL semantics shared by the compiler and the executor's CWL kinds, on plain JSON data only.

Neither `compiler/` nor `executor/` may import the other; what both need — parameter references,
command-line building, File objects, staging and output collection — lives here. No module imports
cwl-utils at import time: JavaScript is evaluated through it only when an expression needs it.
"""
