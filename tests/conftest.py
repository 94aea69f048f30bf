"""Shared fixtures: paths to the built binaries and helpers for running them."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RELEASE = ROOT / "build" / "release"
ASAN = ROOT / "build" / "asan"
# Integration tests run the sanitizer build unless BERTH_BUILD=release.
BUILD = ROOT / "build" / os.environ.get("BERTH_BUILD", "asan")


def binary(name):
    p = BUILD / "bin" / name
    if not p.exists():
        pytest.fail(f"{p} is not built: run make test")
    return p


def run(cmd, check=True, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    r = subprocess.run([str(c) for c in cmd], **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
    return r
