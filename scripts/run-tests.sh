#!/usr/bin/env bash
# Runs every test (unit tests under ASan/UBSan, integration tests with real
# containers, VMs and peers) through pytest, which prints the closing summary;
# skips are listed once, grouped by reason (tests/conftest.py).
set -uo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 -m pytest -q -rfE tests "$@"
