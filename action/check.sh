#!/usr/bin/env bash
# What the GitHub Action (action.yml) runs: `cwlpilot check --format github` over the action's `paths`,
# with its `args`, writing SARIF too when `sarif-file` is set; tests/test_action.py runs it as the action
# does. Inputs come in the environment:
#   CWLPILOT_PATHS  files and folders, one per line, or separated by spaces when on one line (default .)
#   CWLPILOT_ARGS   more options of `cwlpilot check`, separated by spaces (--strict --ignore RULE ...)
#   CWLPILOT_SARIF  a file to write the SARIF report to ('' for none)
#   CWLPILOT_UPLOAD_SARIF  'true': the report is to be uploaded (CWLPILOT_SARIF defaults to cwlpilot.sarif)
#   GITHUB_OUTPUT   where the step's outputs go (exit-code, sarif-file), when set
# The exit code is cwlpilot's: 0 clean, 1 errors (or warnings with --strict), 2 usage, 70 a bug.
set -uo pipefail

paths=()
if [[ "${CWLPILOT_PATHS:-}" == *$'\n'* ]]; then
  while IFS= read -r line; do
    [[ -n "${line//[[:space:]]/}" ]] && paths+=("$line")
  done <<< "$CWLPILOT_PATHS"
else
  read -r -a paths <<< "${CWLPILOT_PATHS:-}"
fi
[[ ${#paths[@]} -eq 0 ]] && paths=(.)
read -r -a args <<< "${CWLPILOT_ARGS:-}"
if [[ -z "${CWLPILOT_SARIF:-}" && "${CWLPILOT_UPLOAD_SARIF:-}" == "true" ]]; then
  CWLPILOT_SARIF=cwlpilot.sarif
fi
command=(cwlpilot check --format github --no-graph "${args[@]}")
if [[ -n "${CWLPILOT_SARIF:-}" ]]; then
  command+=(--sarif "$CWLPILOT_SARIF")
fi
command+=(-- "${paths[@]}")

echo "::group::${command[*]}"
echo "${command[*]}"
echo "::endgroup::"
"${command[@]}"
code=$?
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  {
    echo "exit-code=$code"
    if [[ -n "${CWLPILOT_SARIF:-}" && -s "$CWLPILOT_SARIF" ]]; then echo "sarif-file=$CWLPILOT_SARIF"; fi
  } >> "$GITHUB_OUTPUT"
fi
exit "$code"
