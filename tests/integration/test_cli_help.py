"""The command line as people learn it (issue #19): --help on every command
and subcommand, made from the same table as the parser (checked both ways),
shell completion, man pages, make install, and Podman's convenience flags
(--all, --latest)."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, ROOT, binary, missing_tool, need, requires, run
from engine_helpers import BUSYBOX, engine_store

# "  -a, --all          Remove..." / "      --time int   ..." (Docker style)
DOCKER_FLAG = re.compile(r"^  (?:-(\w), )?\s*--([a-z0-9][a-z0-9-]*)(?: (\S+))?(?:\s{2,}|$)")
# "   --bundle value, -b value  path..." (runc style)
RUNC_FLAG = re.compile(r"^   --([a-z0-9][a-z0-9-]*)( value)?(?:, -(\w)(?: value)?)?(?:\s{2,}|$)")


@pytest.fixture(scope="module")
def tmp():
    d = tempfile.mkdtemp(prefix="berth-cli-")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def env_for(tmp):
    return dict(os.environ, BERTH_RUNROOT=str(tmp / "run"), ASAN_OPTIONS="detect_leaks=0")


def berth(tmp, *args, **kw):
    kw.setdefault("env", env_for(tmp))
    kw.setdefault("stdin", subprocess.DEVNULL)
    return run([binary("berth"), "--root", tmp / "root", *args], check=False, **kw)


def runtime(tmp, *args, **kw):
    kw.setdefault("env", env_for(tmp))
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("cwd", tmp)
    return run([binary("berth-runtime"), "--root", tmp / "rt", *args], check=False, **kw)


def words(out):
    """Candidate names from a completion answer (no flags, no :files)."""
    return [w for w in out.split("\n") if w and w[0] not in ":-"]


def berth_commands(tmp):
    """Every command path: ("rm",), ("volume", "rm"), ... asked of the binary."""
    out = []
    for cmd in words(berth(tmp, "__commands", "").stdout):
        out.append((cmd,))
        for sub in words(berth(tmp, "__commands", cmd, "").stdout):
            out.append((cmd, sub))
    return out


def runtime_commands(tmp):
    return [(c,) for c in words(runtime(tmp, "__complete", "").stdout)]


def parser_flags(call, path, short=False):
    """The long (or short) flags the command's table defines, from the
    completion."""
    r = call("__complete", *path, "-" if short else "--")
    assert r.returncode == 0, r
    if short:
        return {w for w in r.stdout.split("\n") if re.fullmatch(r"-\w", w)}
    return {w for w in r.stdout.split("\n") if w.startswith("--")}


def help_flags(text, runc, short=False):
    """{"--name": takes_value} of each flag line of a --help (short: the
    set of short flags shown)."""
    flags, shorts = {}, set()
    for line in text.split("\n"):
        m = (RUNC_FLAG if runc else DOCKER_FLAG).match(line)
        if m:
            name = "--" + m.group(1 if runc else 2)
            flags[name] = bool(m.group(2) if runc else m.group(3))
            s = m.group(3 if runc else 1)
            if s:
                shorts.add("-" + s)
    return shorts if short else flags


def test_commands_are_many(tmp):
    """The enumeration itself works (else the loops below test nothing)."""
    paths = berth_commands(tmp)
    for p in [("rm",), ("run",), ("ps",), ("volume", "rm"), ("image", "ls"), ("system", "check"),
              ("vm", "run"), ("container", "prune"), ("pull",), ("completion",)]:
        assert p in paths, paths
    rt = runtime_commands(tmp)
    for p in [("create",), ("exec",), ("update",), ("events",)]:
        assert p in rt, rt


@pytest.mark.parametrize("prog", ["berth", "berth-runtime"])
def test_help_lists_every_flag_and_only_those(tmp, prog):
    """For every command and subcommand: --help exits 0, shows a usage line
    and every flag the parser's table has; and every flag it shows is in the
    table and accepted by the parser (__parse runs the very parse, no more)."""
    call = (lambda *a, **kw: berth(tmp, *a, **kw)) if prog == "berth" else \
        (lambda *a, **kw: runtime(tmp, *a, **kw))
    runc = prog == "berth-runtime"
    paths = berth_commands(tmp) if prog == "berth" else runtime_commands(tmp)
    assert paths
    for path in paths:
        r = call(*path, "--help")
        assert r.returncode == 0, r
        # the usage line (an alias such as `image ls` shows its command's: `images`)
        assert r.stdout.startswith(f"NAME:\n   {prog} {path[0]}" if runc else f"Usage:  {prog} "), r
        h = call("help", *path)
        assert h.returncode == 0 and h.stdout == r.stdout, (path, h)
        shown = help_flags(r.stdout, runc)
        assert "--help" in shown, (path, r.stdout)
        table = parser_flags(call, path)
        assert table, path
        assert table <= set(shown), (path, table - set(shown))
        assert set(shown) <= table, (path, set(shown) - table)
        shorts = parser_flags(call, path, short=True)
        assert shorts == help_flags(r.stdout, runc, short=True), (path, shorts)
        for flag, takes_value in shown.items():
            if flag == "--help":
                continue
            p = call("__parse", *path, flag, *(["1"] if takes_value else []))
            assert p.returncode == 0, (path, flag, p)
        bad = call("__parse", *path, "--no-such-flag")
        if len(path) == 1 and path[0] in ("image", "container", "volume", "system", "vm"):
            continue  # a parent: --no-such-flag is an unknown subcommand word
        assert bad.returncode != 0 and "--no-such-flag" in bad.stderr, (path, bad)


def test_top_level_help_and_version(tmp):
    r = berth(tmp, "--help")
    assert r.returncode == 0
    for f in ["--root", "--debug", "--version", "--help"]:
        assert f in help_flags(r.stdout, False), r.stdout
    for cmd in words(berth(tmp, "__commands", "").stdout):
        assert re.search(rf"^  {re.escape(cmd)} ", r.stdout, re.M), (cmd, r.stdout)
    assert berth(tmp, "help").stdout == r.stdout
    v = berth(tmp, "--version")
    assert v.returncode == 0 and re.match(r"^berth version \d+\.\d+\.\d+", v.stdout), v
    v = berth(tmp, "version")
    assert v.returncode == 0, v
    lines = v.stdout.split("\n")
    assert lines[0] == "Client:"
    for key in ["Version:", "API version:", "C compiler:", "OS/Arch:"]:
        assert any(line.startswith(" " + key) for line in lines), v.stdout
    assert re.search(r"OS/Arch:\s+linux/\w+", v.stdout), v.stdout


def test_help_without_required_arguments(tmp):
    """`run --help` and friends answer the help, not 'requires an argument'."""
    for path in [("run",), ("create",), ("exec",), ("logs",), ("cp",), ("tag",), ("vm", "run"),
                 ("volume", "inspect"), ("pull",), ("save",), ("system", "check")]:
        for h in ("--help", "-h"):
            if path in [("run",), ("create",)] and h == "-h":
                continue  # run -h is --hostname, as in Docker
            r = berth(tmp, *path, h)
            assert r.returncode == 0 and "Usage:" in r.stdout and not r.stderr, (path, r)
    r = runtime(tmp, "create", "--help")
    assert r.returncode == 0
    for section in ["NAME:", "USAGE:", "DESCRIPTION:", "OPTIONS:"]:
        assert section in r.stdout, r.stdout
    assert "--bundle value, -b value" in r.stdout


def test_wrong_flag_points_to_help(tmp):
    r = berth(tmp, "rm", "--bogus")
    assert r.returncode == 125
    assert r.stderr == "berth: unknown flag: --bogus\nSee 'berth rm --help'.\n", r.stderr
    r = berth(tmp, "volume", "rm", "-x")
    assert r.returncode == 125 and "See 'berth volume rm --help'." in r.stderr, r
    r = berth(tmp, "pull", "--bogus")
    assert r.returncode == 125 and "See 'berth pull --help'." in r.stderr, r
    r = runtime(tmp, "delete", "--bogus", "x")
    assert r.returncode == 1 and len(r.stderr.strip().split("\n")) == 1, r
    assert "berth-runtime delete --help" in r.stderr, r


def test_bundled_short_flags(tmp):
    """-af, -fa, -it, -dit as Docker groups them; the last may take a value."""
    for path, flags in [(("rm",), ["-af"]), (("rm",), ["-fa"]), (("exec",), ["-it"]),
                        (("run",), ["-dit"]), (("run",), ["-itu", "1000"]),
                        (("run",), ["-ite", "A=1"]), (("logs",), ["-fn", "3"]),
                        (("logs",), ["-fn3"]), (("ps",), ["-aq"])]:
        r = berth(tmp, "__parse", *path, *flags)
        assert r.returncode == 0, (path, flags, r)
    r = berth(tmp, "__parse", "rm", "-ax")
    assert r.returncode == 125 and "'x'" in r.stderr, r
    r = berth(tmp, "__parse", "logs", "-fn")
    assert r.returncode == 125 and "needs a value" in r.stderr, r


@pytest.fixture(scope="module")
def store():
    with engine_store("berth-cli-store-") as bb:
        yield bb


def script_for(b, shell, tmp):
    p = tmp / f"completion.{shell}"
    p.write_text(b("completion", shell).stdout)
    return p


def test_completion_bash(store, tmp):
    b = store
    name = f"cli-{os.getpid()}-ctr"
    b("create", "--name", name, BUSYBOX, "true")
    script = script_for(b, "bash", tmp)
    assert run(["bash", "-n", script]).returncode == 0

    def complete(*ws):
        line = " ".join(f"'{w}'" for w in ws)
        prog = (f"source {script}; complete -p berth; COMP_WORDS=({line}); "
                f"COMP_CWORD={len(ws) - 1}; _berth; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        r = run(["bash", "-c", prog], env=b.env)
        lines = r.stdout.split("\n")
        assert lines[0] == "complete -F _berth berth", r.stdout
        return lines[1:]

    berth_path = str(binary("berth"))
    root = str(b.root)
    assert name in complete(berth_path, "--root", root, "rm", "cli-")
    assert name in complete(berth_path, "--root", root, "start", "-a", "")
    assert complete(berth_path, "--root", root, "rm", "--for") == ["--force", ""]
    assert "volume" in complete(berth_path, "--root", root, "vol")
    assert "prune" in complete(berth_path, "--root", root, "volume", "p")
    assert "volume" in complete(berth_path, "--root", root, "help", "vol")
    assert BUSYBOX + ":latest" in complete(berth_path, "--root", root, "run", "-d", "--name", "x",
                                           "local")
    # after the image, the command: files
    out = complete(berth_path, "--root", root, "run", BUSYBOX, "/bi")
    assert "/bin" in out, out
    # as bash calls it: COMP_LINE too, and the words split at ':' (COMP_WORDBREAKS)
    line = f"{berth_path} --root={root} run {BUSYBOX}:la"
    prog = (f"source {script}; COMP_LINE='{line}'; COMP_POINT={len(line)}; "
            f"COMP_WORDS=({berth_path} --root = {root} run {BUSYBOX} : la); COMP_CWORD=7; "
            "_berth; printf '%s\\n' \"${COMPREPLY[@]}\"")
    assert run(["bash", "-c", prog], env=b.env).stdout == "latest\n"


def test_completion_zsh(store, tmp):
    need(missing_tool("zsh", "zsh"))
    b = store
    name = f"cli-{os.getpid()}-zsh"
    b("create", "--name", name, BUSYBOX, "true")
    script = script_for(b, "zsh", tmp)
    assert run(["zsh", "-n", script]).returncode == 0
    # compadd/compdef stand-ins print what the function hands to zsh
    prog = (f"compdef() {{ print -r -- compdef $@ }}; compadd() {{ print -rl -- $@ }}; "
            f"source {script}; words=({binary('berth')} --root {b.root} rm cli-); CURRENT=5; "
            f"_berth")
    r = run(["zsh", "-f", "-c", prog], env=b.env)
    lines = r.stdout.split("\n")
    assert "compdef _berth berth" in lines, r.stdout
    assert name in lines, r.stdout


def test_completion_fish(store, tmp):
    need(missing_tool("fish", "fish"))
    b = store
    name = f"cli-{os.getpid()}-fish"
    b("create", "--name", name, BUSYBOX, "true")
    script = script_for(b, "fish", tmp)
    assert run(["fish", "-n", script]).returncode == 0
    env = dict(b.env, PATH=f"{binary('berth').parent}:{os.environ['PATH']}")
    r = run(["fish", "--no-config", "-c",
             f"source {script}; complete -C'berth --root {b.root} rm cli-'"], env=env)
    assert name in r.stdout.split("\n"), r.stdout
    r = run(["fish", "--no-config", "-c",
             f"source {script}; complete -C'berth --root {b.root} rm --vol'"], env=env)
    assert "--volumes" in r.stdout.split("\n"), r.stdout


@requires(missing_tool("man", "man-db"), missing_tool("groff", "groff-base"))
def test_man_pages_render_without_warnings(tmp):
    out = tmp / "man"
    run([ROOT / "scripts/gen-man.sh", BUILD / "bin", out])
    pages = sorted(p.name for p in out.iterdir())
    for want in ["berth.1", "berth-run.1", "berth-rm.1", "berth-volume-rm.1", "berth-vm-run.1",
                 "berth-pull.1", "berth-runtime.8", "berth-runtime-create.8"]:
        assert want in pages, pages
    for cmd in words(berth(tmp, "__commands", "").stdout):
        assert f"berth-{cmd}.1" in pages, (cmd, pages)
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    for p in pages:
        r = run(["man", "--warnings", "-l", out / p], env=env)
        assert r.stderr == "", (p, r.stderr)
        assert "NAME" in r.stdout and "SYNOPSIS" in r.stdout, p
    rm = run(["man", "-l", out / "berth-rm.1"], env=env).stdout
    for f in parser_flags(lambda *a: berth(tmp, *a), ("rm",)):
        assert f in rm, (f, rm)


def test_make_install(tmp):
    """make install PREFIX=... (and DESTDIR), then uninstall leaves nothing."""
    build = BUILD.name
    for dest, prefix in [(None, tmp / "prefix"), (tmp / "dest", pathlib.Path("/usr"))]:
        args = ["make", "-C", ROOT, "--no-print-directory", "install", f"BUILD={build}",
                f"PREFIX={prefix}"] + ([f"DESTDIR={dest}"] if dest else [])
        run(args, timeout=600)
        base = pathlib.Path(str(dest) + str(prefix)) if dest else prefix
        for f in ["bin/berth", "bin/berth-runtime", "bin/berth-xfer", "bin/berth-monitor",
                  "bin/berth-init", "share/bash-completion/completions/berth",
                  "share/zsh/vendor-completions/_berth",
                  "share/fish/vendor_completions.d/berth.fish", "share/man/man1/berth.1",
                  "share/man/man1/berth-run.1", "share/man/man8/berth-runtime.8"]:
            assert (base / f).is_file(), f
        assert os.access(base / "bin/berth", os.X_OK)
        assert "complete -F _berth berth" in (base / "share/bash-completion/completions/berth")\
            .read_text()
        v = run([base / "bin/berth", "version"], env=env_for(tmp))
        assert "Client:" in v.stdout
        run(["make", "-C", ROOT, "--no-print-directory", "uninstall", f"BUILD={build}",
             f"PREFIX={prefix}"] + ([f"DESTDIR={dest}"] if dest else []))
        left = [p for p in base.rglob("*") if p.is_file()]
        assert not left, left


def ids_of(b, *args):
    return [line for line in b("ps", "-aq", "--no-trunc", *args).stdout.split("\n") if line]


def test_rm_all_and_latest(tmp):
    with engine_store("berth-cli-all-") as b:
        made = [b("create", BUSYBOX, "true").stdout.strip() for _ in range(3)]
        assert sorted(ids_of(b)) == sorted(made)
        # --latest is the newest one
        r = b("inspect", "-l", "-f", "{{.Id}}")
        assert r.stdout.strip() == made[-1]
        r = b("rm", "-l")
        assert r.stdout.strip() == made[-1]
        assert sorted(ids_of(b)) == sorted(made[:2])
        # names and --all together are refused, and nothing is removed
        r = b("rm", "-a", made[0], check=False)
        assert r.returncode == 125 and "cannot be used together" in r.stderr
        assert sorted(ids_of(b)) == sorted(made[:2])
        # a running one needs -f: -af (bundled) removes everything
        run_id = b("run", "-d", BUSYBOX, "sleep", "1000").stdout.strip()
        r = b("rm", "-a", check=False)
        assert r.returncode == 125 and run_id in ids_of(b)
        b("rm", "-af")
        assert ids_of(b) == []
        # nothing left: --all is fine, --latest is an error
        assert b("rm", "-a").returncode == 0
        r = b("rm", "-l", check=False)
        assert r.returncode == 125 and "--latest" in r.stderr


def test_stop_kill_all_and_latest_exec_logs(tmp):
    with engine_store("berth-cli-stop-") as b:
        done = b("run", "--name", "cli-done", BUSYBOX, "echo", "hello-latest")
        assert done.stdout == "hello-latest\n"
        assert b("logs", "-l").stdout == "hello-latest\n"
        ids = [b("run", "-d", BUSYBOX, "sleep", "1000").stdout.strip() for _ in range(2)]
        # --latest among running ones for exec: the newest
        assert b("exec", "-l", "cat", "/etc/hostname").stdout.strip() == ids[1][:12]
        assert b("top", "-l").returncode == 0
        r = b("kill", "-a")
        assert sorted(r.stdout.split()) == sorted(ids)  # only the running ones
        for i in ids:
            b("wait", i)
        assert ids_of(b, "-f", "status=running") == []
        again = b("run", "-d", BUSYBOX, "sleep", "1000").stdout.strip()
        r = b("stop", "-a", "-t", "1")
        assert r.stdout.split() == [again]
        assert b("inspect", "-f", "{{.State.Status}}", again).stdout.strip() == "exited"
        ps = json.loads(b("ps", "-a", "--format", "json").stdout)
        assert {p["Id"] for p in ps} == set(ids + [again, b.inspect("cli-done")["Id"]])
        assert any(p["Names"] == ["cli-done"] for p in ps)


def test_rmi_all(tmp):
    with engine_store("berth-cli-rmi-") as b:
        b("tag", BUSYBOX, "localhost/other:1")
        assert b("images", "-q").stdout.strip()
        b("rmi", "-a")
        assert b("images", "-q").stdout.strip() == ""
        r = b("rmi", "-a", BUSYBOX, check=False)
        assert r.returncode == 125 and "cannot be used together" in r.stderr
