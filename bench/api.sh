#!/usr/bin/env bash
# bench/api.sh [RUNS]: the Docker API through berth system service vs dockerd vs Podman (bench/api.py).
exec /usr/bin/python3 "$(dirname "$0")/api.py" "$@"
