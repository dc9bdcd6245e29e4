#!/usr/bin/env bash
# The README's test command: install with the CPU torch pin and the dev extra, fetch the browser app's
# onnxruntime-web (npm ci; the browser tests also need Debian's chromium), then run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
pip install -c constraints.txt -e ".[all,dev]"
if [ ! -d examples/web/node_modules/onnxruntime-web/dist ]; then
    if command -v npm >/dev/null; then
        (cd examples/web && npm ci --no-audit --no-fund) || echo "npm ci failed: the browser tests will skip"
    else
        echo "npm not found: the browser tests will skip (they need onnxruntime-web from npm ci in examples/web)"
    fi
fi
pytest "$@"
