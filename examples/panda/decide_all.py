"""Junction of a loop over a scatter: sum every element's value; stop past the threshold, else update the
whole parameter arrays (every xxx + 1, every yyy * 2)."""

import json
import sys
from pathlib import Path

files = sys.argv[1].split(",")
xxx, yyy, threshold = json.loads(sys.argv[2]), json.loads(sys.argv[3]), float(sys.argv[4])
value = sum(float(Path(f).read_text()) for f in files)
print(f"sum {value:.3f} over {len(files)} element(s) (threshold {threshold})")
with open("results.json", "w") as out:
    json.dump({"to_terminate": value > threshold, "xxx": [x + 1 for x in xxx], "yyy": [y * 2 for y in yyy]}, out)
