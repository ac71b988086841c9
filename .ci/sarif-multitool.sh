#!/usr/bin/env bash
# The SARIF SDK's validator and the SARIF 2.1.0 JSON schema it ships (npm @microsoft/sarif-multitool-linux,
# MIT), for tests/compiler/test_sarif.py: fetched once with npm into DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/cwlpilot/sarif-multitool-VERSION); prints DIR. DIR/sarif-2.1.0.json is the
# schema, DIR/Sarif.Multitool the validator (`Sarif.Multitool validate FILE`). About 43 MB.
set -euo pipefail
VERSION=5.7.0
DIR=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/cwlpilot/sarif-multitool-$VERSION}
if [ ! -s "$DIR/sarif-2.1.0.json" ] || [ ! -x "$DIR/Sarif.Multitool" ]; then
  command -v npm >/dev/null || { echo "sarif-multitool: npm is not installed" >&2; exit 2; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "@microsoft/sarif-multitool-linux@$VERSION" >/dev/null)
  mkdir -p "$DIR"
  tar xzf "$work"/microsoft-sarif-multitool-linux-"$VERSION".tgz -C "$work"
  cp -r "$work"/package/. "$DIR"/
  chmod u+x "$DIR/Sarif.Multitool"
fi
echo "$DIR"
