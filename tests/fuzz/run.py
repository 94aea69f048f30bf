#!/usr/bin/python3
"""Runs the libFuzzer harnesses (build/fuzz/tests/fuzz/NAME, `make fuzz-build`).

    tests/fuzz/run.py SECONDS NAME...        (what `make fuzz` runs)

Each harness first replays its checked-in reproducers (tests/fuzz/crash/NAME/:
inputs that once crashed it, which must not any more), then fuzzes for SECONDS
from its seeds (tests/fuzz/corpus/NAME, never written to). New inputs go to
WORK/corpus, a crashing input to WORK/crash/, scratch files to WORK/tmp.
A run passes when libFuzzer exits 0 and left no crash file. tests/test_fuzz.py
uses the same function with a private WORK and a short time."""
import os
import pathlib
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = ROOT / "build" / "fuzz" / "tests" / "fuzz"
JSON_HARNESSES = {"fuzz_spec", "fuzz_seccomp", "fuzz_manifest", "fuzz_config", "fuzz_docker_load",
                  "fuzz_auth"}


def harnesses():
    return sorted(p.stem for p in HERE.glob("fuzz_*.c"))


def reproducers(name):
    d = HERE / "crash" / name
    return sorted(p for p in d.iterdir() if p.is_file()) if d.is_dir() else []


def open_crashes():
    """{"NAME/FILE": reason} from tests/fuzz/crash/OPEN: found, not fixed yet."""
    known = {}
    for line in (HERE / "crash" / "OPEN").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, reason = line.partition(" ")
            known[key] = reason.strip()
    return known


def replay(name, path, work):
    """Run the harness once on one input: (ok, output)."""
    env = dict(os.environ, TMPDIR=str(work))
    r = subprocess.run([str(BIN / name), str(path)], env=env, capture_output=True, text=True,
                       errors="replace", timeout=120, cwd=work)
    return r.returncode == 0, r.stdout + r.stderr


def run(name, seconds, work, log=None):
    """Returns (ok, output): replay of the reproducers, then `seconds` of fuzzing."""
    exe = BIN / name
    work = pathlib.Path(work)
    corpus, crash, tmp = work / "corpus", work / "crash", work / "tmp"
    shutil.rmtree(crash, ignore_errors=True)  # an earlier run's: reported then
    for d in (corpus, crash, tmp):
        d.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp))
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    out = []

    def go(args, timeout):
        r = subprocess.run([str(exe)] + args, env=env, capture_output=True, text=True,
                           errors="replace", timeout=timeout, cwd=work)
        out.append(f"$ {exe.name} {' '.join(args)}\n{r.stdout}{r.stderr}")
        return r.returncode

    common = ["-timeout=10", "-rss_limit_mb=2560", f"-artifact_prefix={crash}/"]
    if name in JSON_HARNESSES:
        common.append(f"-dict={HERE / 'json.dict'}")
    ok = True
    still_open = open_crashes()
    repro = [p for p in reproducers(name) if f"{name}/{p.name}" not in still_open]
    if repro:
        ok = go(common + [str(p) for p in repro], 120) == 0
    if ok:
        seeds = HERE / "corpus" / name
        rc = go(common + [f"-max_total_time={seconds}", "-print_final_stats=1", str(corpus)]
                + ([str(seeds)] if seeds.is_dir() else []), seconds + 120)
        ok = rc == 0
    crashes = sorted(crash.iterdir())
    if crashes:
        ok = False
        out.append("crash files: " + " ".join(str(p) for p in crashes))
    left = sorted(tmp.iterdir())
    if ok and left:  # a harness removes its scratch space at exit (fuzz.h)
        ok = False
        out.append("left behind in TMPDIR: " + " ".join(str(p) for p in left))
    shutil.rmtree(tmp, ignore_errors=True)
    return ok, "\n".join(out)


def main(argv):
    if len(argv) < 2 or not argv[1].isdigit():
        print("usage: run.py SECONDS [NAME...]", file=sys.stderr)
        return 2
    seconds, names = int(argv[1]), argv[2:] or harnesses()
    failed = []
    for name in names:
        ok, output = run(name, seconds, ROOT / "build" / "fuzz" / "work" / name)
        tail = "\n".join(output.splitlines()[-6:])
        print(f"{name}: {'ok' if ok else 'FAILED'}\n{tail}\n", flush=True)
        if not ok:
            failed.append(name)
    if failed:
        print("fuzz: failed: " + " ".join(failed) + " (inputs in build/fuzz/work/NAME/crash/)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
