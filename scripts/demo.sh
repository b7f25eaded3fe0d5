#!/usr/bin/env bash
# The rule on the bundled fixture events: no AWS account, no network. Usage: demo.sh PATH-TO-sg-compliance
set -euo pipefail
bin=${1:?usage: demo.sh PATH-TO-sg-compliance}
cd "$(dirname "$0")/.."
printf '%-34s %-15s %s\n' "fixture event" "verdict" "annotation"
printf '%-34s %-15s %s\n' "-------------" "-------" "----------"
for f in fixtures/events/*.json; do
  name=$(basename "$f" .json)
  if out=$("$bin" evaluate --event "$f" 2>&1); then
    python3 -c '
import json, sys
for e in json.loads(sys.argv[2]):
    print("%-34s %-15s %s" % (sys.argv[1], e["complianceType"], e["annotation"]))' "$name" "$out"
  else
    printf '%-34s %-15s %s\n' "$name" "(needs --live)" "${out#sg-compliance: error: }"
  fi
done
echo
echo "Full output of one evaluation (what the Lambda delivers with PutEvaluations):"
"$bin" evaluate --event fixtures/events/ssh-open-split-halves.json
