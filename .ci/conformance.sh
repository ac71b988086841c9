#!/usr/bin/env bash
# CWL conformance gate: the whole official v1.2 suite (378 tests) run through `cwlpilot cwl-runner`; fails
# when fewer than THRESHOLD pass. 364 is every test that needs no container engine (the other 14 have
# DockerRequirement as a requirement, or need its effects), so any regression fails CI. About 2 minutes
# with -j 2 on a 2-core machine. Needs the suite in ../shared/cwl-conformance (beside the clone) and PyPI
# access for cwltest (installed by run_subset.sh into its own venv on first use).
set -uo pipefail
cd "$(dirname "$0")/.."

THRESHOLD=${CWLPILOT_CONFORMANCE_THRESHOLD:-364}
SUITE=${CWL_CONFORMANCE_DIR:-../shared/cwl-conformance}
if [ ! -x "$SUITE/run_subset.sh" ]; then
  echo "conformance: no suite at $SUITE (set CWL_CONFORMANCE_DIR)" >&2
  exit 2
fi
command -v cwlpilot >/dev/null 2>&1 || pip install -q -e . >&2 || exit 2

log=$(mktemp)
"$SUITE/run_subset.sh" -j "${CWLPILOT_CONFORMANCE_JOBS:-2}" all cwlpilot cwl-runner \
  2>&1 | grep -v '^WARNING: Location' | tee "$log"
passed=$(sed -n 's/^\([0-9][0-9]*\) passed, [0-9][0-9]* failed$/\1/p' "$log" | tail -n 1)
rm -f "$log"
if [ -z "$passed" ]; then
  echo "conformance: no result line from run_subset.sh" >&2
  exit 1
fi
if [ "$passed" -lt "$THRESHOLD" ]; then
  echo "conformance: $passed passed, below the threshold of $THRESHOLD" >&2
  exit 1
fi
echo "conformance: $passed passed (threshold $THRESHOLD)"
