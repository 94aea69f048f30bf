"""Runs each C unit-test binary (built with ASan/UBSan) as one pytest test."""
import pytest

from conftest import ASAN, ROOT, run

UNIT = sorted((ROOT / "tests" / "unit").glob("test_*.c"))


@pytest.mark.parametrize("src", UNIT, ids=[p.stem for p in UNIT])
def test_unit(src):
    exe = ASAN / "tests" / "unit" / src.stem
    assert exe.exists(), f"{exe} not built"
    r = run([exe], check=False, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " passed, 0 failed" in r.stdout
