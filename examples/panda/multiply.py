"""Loop body: print the sum of the numbers in the input files, multiplied by a factor."""

import sys
from pathlib import Path

*files, factor = sys.argv[1].split(",") + sys.argv[2:]
total = sum(float(Path(f).read_text().split()[0]) for f in files)
print(total * float(factor))
