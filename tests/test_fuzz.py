"""Each libFuzzer harness (tests/fuzz/fuzz_*.c) as one test: it replays the
reproducers of crashes once found (tests/fuzz/crash/NAME/), then fuzzes for
FUZZ_TEST_SECONDS (default 15) from the checked-in seeds, and must exit 0
with no crash file. `make test` builds the harnesses (`make fuzz-build`); run
alone, the session builds them first (a no-op when they are up to date).
Skips when clang cannot link libFuzzer (conftest.missing_libfuzzer)."""
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import ROOT, missing_libfuzzer, need

sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
import run as fuzz_run  # noqa: E402  (tests/fuzz/run.py)

SECONDS = int(os.environ.get("FUZZ_TEST_SECONDS", "15"))
HARNESSES = fuzz_run.harnesses()
OPEN = fuzz_run.open_crashes()
REPRO = [(n, p) for n in HARNESSES for p in fuzz_run.reproducers(n)]


def _open(key):
    """Marks for a crash found but not fixed yet (tests/fuzz/crash/OPEN)."""
    if key in OPEN:
        return [pytest.mark.xfail(strict=True, reason="open: " + OPEN[key])]
    return []


@pytest.fixture(scope="session")
def fuzz_built():
    need(missing_libfuzzer())
    r = subprocess.run(["make", "-C", str(ROOT), "-s", "fuzz-build"], capture_output=True,
                       text=True, timeout=1800)
    assert r.returncode == 0, "make fuzz-build failed:\n" + r.stdout + r.stderr
    return fuzz_run.BIN


def test_every_parser_has_a_harness_and_seeds():
    """The harness list is what the Makefile builds, and each has seeds."""
    assert len(HARNESSES) >= 8, HARNESSES
    for name in HARNESSES:
        seeds = ROOT / "tests" / "fuzz" / "corpus" / name
        assert seeds.is_dir() and any(seeds.iterdir()), f"{name}: no seed corpus in {seeds}"


@pytest.mark.parametrize("name,path", [
    pytest.param(n, p, id=f"{n}/{p.name}", marks=_open(f"{n}/{p.name}")) for n, p in REPRO])
def test_crash_reproducer(name, path, fuzz_built, tmp_path):
    """An input that once crashed a harness (tests/fuzz/crash/NAME/FILE) runs clean."""
    ok, output = fuzz_run.replay(name, path, tmp_path)
    assert ok, f"{name} {path.name}:\n" + output[-6000:]


def _open_harness(name):
    keys = [k for k in OPEN if k.startswith(name + "/")]
    return _open(keys[0]) if keys else []


@pytest.mark.parametrize("name", [pytest.param(n, marks=_open_harness(n)) for n in HARNESSES])
def test_fuzz(name, fuzz_built, tmp_path):
    exe = fuzz_built / name
    assert exe.exists(), f"{exe} not built by make fuzz-build"
    ok, output = fuzz_run.run(name, SECONDS, tmp_path)
    assert ok, f"{name} found a crash (or failed):\n" + output[-6000:]
    assert not any((tmp_path / "crash").iterdir())
