#!/usr/bin/env bash
# The README's test command: install with the CPU torch pin and the dev extra, then run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
pip install -c constraints.txt -e ".[all,dev]"
pytest "$@"
