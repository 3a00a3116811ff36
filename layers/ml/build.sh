#!/usr/bin/env bash
# Build the ml layer into build/layers/ml/python for python3.12 x86_64 Lambda; prints its unzipped size.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
exec "$PYTHON" layers/build_layer.py ml "$@"
