"""merge_many.cwl's merge step: concatenate the input files into merged.root, with a header line."""

import argparse
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--type")
parser.add_argument("--level", type=int)
parser.add_argument("files")
args = parser.parse_args()
with open("merged.root", "w") as out:
    out.write(f"merged type={args.type} level={args.level} files={len(args.files.split(','))}\n")
    for name in args.files.split(","):
        out.write(Path(name).read_text())
