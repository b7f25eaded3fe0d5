#!/usr/bin/env bash
# The audit on the bundled organization snapshot: no AWS account, no network.
# Usage: demo.sh PATH-TO-sg-compliance
set -euo pipefail
bin=${1:?usage: demo.sh PATH-TO-sg-compliance}
cd "$(dirname "$0")/.."
echo "\$ sg-compliance audit --input fixtures/audit/organization.json --format table"
echo
status=0
"$bin" audit --input fixtures/audit/organization.json --format table || status=$?
echo
# Exit status 1 means "some groups are non-compliant": the demo shows them, so that is success here.
if [ "$status" -ne 1 ]; then
  echo "demo: unexpected exit status $status" >&2
  exit 1
fi
echo "Exit status 1: some groups are non-compliant (0 = all compliant, 2 = bad input, 3 = AWS failure)."
echo "Other formats: --format json | csv | markdown | sarif | html --output report.html"
