"""Runs each C unit-test binary (built with ASan/UBSan) as one pytest test.
A case the host cannot run prints "skip: REASON"; those reasons go into the
skip summary at the end of the run."""
import pytest

from conftest import ASAN, ROOT, record_unit_skips, run

# test_cgroup_live runs from tests/integration/test_cgroup_host.py, which gives
# it a v1 hugetlb hierarchy and checks that it left no cgroup behind.
UNIT = sorted(p for p in (ROOT / "tests" / "unit").glob("test_*.c") if p.stem != "test_cgroup_live")


@pytest.mark.parametrize("src", UNIT, ids=[p.stem for p in UNIT])
def test_unit(src):
    exe = ASAN / "tests" / "unit" / src.stem
    assert exe.exists(), f"{exe} not built"
    r = run([exe], check=False, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " passed, 0 failed" in r.stdout
    record_unit_skips(src.stem, r.stdout)
