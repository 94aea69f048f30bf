"""bench/cri.sh's driver: CRI pod start with berth-runtime against runc in one
private containerd (tests/integration/cri_helpers.py): RunPodSandbox, then
CreateContainer + StartContainer of `echo`, until its line is in the kubelet's
log file; RUNS runs per handler, alternating; prints a markdown table."""
import pathlib
import statistics
import sys
import time

TESTS = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(TESTS / "integration"), str(TESTS)]  # cri_helpers, and the conftest it uses
import cri_helpers  # noqa: E402


def one(cri, handler, n):
    pb, rt = cri.pb, cri.rt
    name = f"cr-bench-{handler}-{n}"
    cfg = cri.sandbox_config(name)
    log = pathlib.Path(cfg.log_directory) / "c.log"
    t0 = time.monotonic()
    sid = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg, runtime_handler=handler),
                           timeout=120).pod_sandbox_id
    cid = rt.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=sid, config=cri.container_config("c", ["echo", "cr-first"]),
        sandbox_config=cfg), timeout=60).container_id
    rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
    while not (log.exists() and "cr-first" in log.read_text()):
        if time.monotonic() - t0 > 60:
            raise RuntimeError(f"{handler}: no output in 60 s")
        time.sleep(0.002)
    t = time.monotonic() - t0
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=60)
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=60)
    return t


def main():
    bindir, runs = sys.argv[1], int(sys.argv[2])
    why = cri_helpers.missing()
    if why:
        sys.exit(f"bench/cri.sh: {why}")
    cri = cri_helpers.Cri(bindir)
    times = {"berth": [], "runc": []}
    try:
        cri.start()
        why = cri.cri_missing()
        if why:
            sys.exit(f"bench/cri.sh: {why}")
        cri.import_images()
        for h in ("berth", "runc"):  # warm-up: snapshots unpacked, plugins loaded
            one(cri, h, "warm")
        for n in range(runs):
            for h in ("berth", "runc"):
                times[h].append(one(cri, h, n))
    finally:
        cri.remove_all()
        problems = cri.close()
    if problems:
        sys.exit("bench/cri.sh: " + "; ".join(problems))
    med = {h: statistics.median(v) * 1000 for h, v in times.items()}
    print("| handler | median ms | runs (ms) |")
    print("| --- | ---: | --- |")
    for h in ("berth", "runc"):
        print(f"| {h} | {med[h]:.0f} | {', '.join(f'{t * 1000:.0f}' for t in times[h])} |")
    print(f"\nberth/runc (medians): **{med['berth'] / med['runc']:.2f}**")


if __name__ == "__main__":
    main()
