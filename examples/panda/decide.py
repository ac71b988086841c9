"""Loop junction: read the value the body computed, stop past the threshold, else update the dictionary."""

import json
import os
import sys
from pathlib import Path

dataset, xxx, yyy, threshold, i = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
files = sorted(os.path.join(dataset, f) for f in os.listdir(dataset) if f.endswith("results.root"))
value = sum(float(Path(f).read_text()) for f in files)
print(f"iteration {i}: value {value:.3f} (threshold {threshold})")
with open("results.json", "w") as out:
    json.dump({"to_terminate": value > threshold, "xxx": xxx + 1, "yyy": yyy * 2}, out)
