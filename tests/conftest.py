"""Shared fixtures: paths to the built binaries and helpers for running them."""
import os
import pathlib
import subprocess
import tempfile

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



def run_in_script(line, timeout=60, env=None, cwd=None):
    """Run a shell command line on a fresh pty with script(1), as a person at a
    terminal would: stdin stays open (not at EOF) until the command ends, so
    `-it` clients do not see end-of-input and detach early (CI has no stdin).
    Output goes to temporary files, so nothing can block on a full pipe."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(["script", "-qec", line, "/dev/null"], stdin=subprocess.PIPE,
                             stdout=out, stderr=err, text=True, env=env, cwd=cwd)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
        finally:
            p.stdin.close()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())
