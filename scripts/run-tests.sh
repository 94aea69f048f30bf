#!/usr/bin/env bash
# Runs every test (unit tests under ASan/UBSan, integration tests with real
# containers, VMs and peers) through pytest, which prints the closing summary.
set -uo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 -m pytest -q -rs tests "$@"
