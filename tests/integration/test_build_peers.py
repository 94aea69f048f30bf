"""`berth build` against its peer (issue #12): the same Containerfiles built
by berth and by `buildah bud` (Podman's builder, its own storage in a temp
dir) from the same busybox base, then the image configs (Env, Entrypoint, Cmd,
WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal, Healthcheck,
OnBuild, Shell) and the files of the root filesystems (path, type, mode,
owner, content; not mtimes) compared, and each image run by berth."""
import gzip
import io
import os
import pathlib
import shutil
import tarfile

import pytest

import conftest
from build_peers_helpers import (Buildah, berth_config, berth_files, diff_files,
                                 norm_config)
from engine_helpers import BUSYBOX, engine_store

if os.geteuid() != 0:
    pytest.skip("the build peer tests need root", allow_module_level=True)
conftest.need(conftest.missing_tool("buildah", "buildah"))


@pytest.fixture(scope="module")
def peers():
    """berth's store with the busybox image and buildah's with the same image
    (loaded from berth's docker-archive: the same image ID on both sides)."""
    with engine_store("b12p-") as b:
        bah = Buildah(b.tmp)
        try:
            arch = b.tmp / "busybox.tar"
            b("save", "-o", arch, BUSYBOX)
            bah("pull", f"docker-archive:{arch}")
            want = b.inspect(BUSYBOX)["Id"]
            have = bah("inspect", "--type", "image", "--format", "{{.FromImageID}}", BUSYBOX)
            assert "sha256:" + have.stdout.strip() == want
            yield b, bah
        finally:
            bah.cleanup()
        assert not b.ids()
        assert not (b.root / "build-tmp").exists()
        b("system", "check")


def context(tmp, name, containerfile, files=None, links=None):
    ctx = pathlib.Path(tmp) / f"ctx-{name}"
    if ctx.exists():
        shutil.rmtree(ctx)
    ctx.mkdir()
    (ctx / "Containerfile").write_text(containerfile)
    for rel, data in (files or {}).items():
        (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            (ctx / rel).write_bytes(data)
        else:
            (ctx / rel).write_text(data)
        os.chmod(ctx / rel, 0o644)
    for rel, target in (links or {}).items():
        os.symlink(target, ctx / rel)
    return ctx


def both(peers, name, containerfile, files=None, args=(), links=None):
    """Build with both; compare configs and files; the berth image's name."""
    b, bah = peers
    ctx = context(b.tmp, name, containerfile, files, links)
    tag = f"localhost/b12p-{name}"
    b("build", "-t", tag, *args, ctx)
    bah.bud(ctx, tag, *args)
    got, want = norm_config(berth_config(b, tag)), norm_config(bah.config(tag), buildah=True)
    assert got == want
    diff = diff_files(berth_files(b, tag), bah.files(tag))
    assert not diff, "\n".join(diff)
    return tag, got


def brun(b, *args):
    return b("run", "--rm", "--network", "none", *args).stdout


# Every config instruction, JSON forms (and SHELL changing RUN's shell)
CONFIG_JSON = f"""FROM {BUSYBOX}
LABEL a=b "c d"="e f"
LABEL multi.x=1 multi.y="two words"
EXPOSE 80 53/udp
EXPOSE 8080/tcp
VOLUME ["/v1", "/v2"]
VOLUME /data
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD ["true"]
ENV A=1 B="two words"
ENV C $A-x
SHELL ["/bin/sh", "-ec"]
RUN echo "$B $C" > /shell-out
ENTRYPOINT ["echo", "entry"]
CMD ["a", "b"]
"""

# the same, shell forms (and HEALTHCHECK NONE over an inherited one)
CONFIG_SHELL = f"""FROM {BUSYBOX} AS base
HEALTHCHECK CMD true
FROM base
ENV P=/x
SHELL ["/bin/sh", "-c"]
STOPSIGNAL 9
HEALTHCHECK NONE
ENTRYPOINT echo "entry $P"
CMD echo cmd
"""


def test_config_instructions_json_forms(peers):
    b, _ = peers
    tag, cfg = both(peers, "cfgjson", CONFIG_JSON)
    assert cfg["Entrypoint"] == ["echo", "entry"] and cfg["Cmd"] == ["a", "b"]
    assert cfg["Shell"] == ["/bin/sh", "-ec"] and cfg["StopSignal"] == "SIGUSR1"
    assert set(cfg["ExposedPorts"]) == {"80/tcp", "53/udp", "8080/tcp"}
    assert set(cfg["Volumes"]) == {"/v1", "/v2", "/data"}
    assert cfg["Labels"] == {"a": "b", "c d": "e f", "multi.x": "1", "multi.y": "two words"}
    assert "C=1-x" in cfg["Env"] and "B=two words" in cfg["Env"]
    assert brun(b, tag) == "entry a b\n"
    assert brun(b, "--entrypoint", "cat", tag, "/shell-out") == "two words 1-x\n"


def test_config_instructions_shell_forms(peers):
    b, _ = peers
    tag, cfg = both(peers, "cfgshell", CONFIG_SHELL)
    # Docker: the shell form is [SHELL..., text]; ENTRYPOINT's shell form ignores CMD
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", 'echo "entry $P"']
    assert cfg["Cmd"] == ["/bin/sh", "-c", "echo cmd"]
    assert cfg["Healthcheck"] == {"Test": ["NONE"]}
    assert brun(b, tag) == "entry /x\n"


ARGS = f"""ARG BASE={BUSYBOX}
ARG G=global
FROM $BASE AS one
ARG G
ARG L=one
RUN echo "$G $L" > /one
FROM $BASE AS three
RUN echo "[$G][$L]" > /three
FROM $BASE
ARG G
ARG D
ENV E=${{G:-none}}/${{UNSET:-dflt}}/${{G:+alt}}/${{D:-nod}}
RUN echo "[$G][$L][$D]" > /two
COPY --from=one /one /from-one
COPY --from=three /three /from-three
CMD cat /from-one /from-three /two
"""


def test_arg_scoping_across_stages(peers):
    b, _ = peers
    tag, cfg = both(peers, "args", ARGS, args=("--build-arg", "D=cli"))
    assert "E=global/dflt/alt/cli" in cfg["Env"]
    # a global ARG is re-imported only by a stage's own `ARG G`; no leak of stage args
    assert brun(b, tag) == "global one\n[][]\n[global][][cli]\n"


COPY = f"""FROM {BUSYBOX}
ENV SRC=files DST=/opt/dst
WORKDIR /a/b/c
WORKDIR rel
COPY $SRC/ ${{DST}}/
COPY --chown=app:extra files/one.txt ./
COPY --from={BUSYBOX} /etc/passwd /copied-passwd
ADD t.tar /added/
COPY . /ctx/
CMD ["sh", "-c", "pwd; stat -c '%u %g' one.txt; find /ctx /opt/dst | sort"]
"""

IGNORE = "**/*.log\n!keep.log\nsecret*\n!secret-ok\ntmpdir\n!tmpdir/keep\n"


def tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o600, 1
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_copy_env_paths_workdir_ignore_from_image(peers):
    b, _ = peers
    files = {"files/one.txt": "one\n", "files/sub/two.txt": "two\n", "a.log": "x",
             "sub/deep/b.log": "x", "keep.log": "k", "secret.txt": "s", "secret-ok": "ok",
             "tmpdir/x": "x", "tmpdir/keep": "k", ".dockerignore": IGNORE,
             "t.tar": tar_bytes({"in/t.txt": b"in-tar\n"})}
    tag, cfg = both(peers, "copy", COPY, files)
    assert cfg["WorkingDir"] == "/a/b/c/rel"
    out = brun(b, tag).split("\n")
    assert out[:2] == ["/a/b/c/rel", "1000 2000"]
    listed = set(out[2:])
    assert {"/ctx/keep.log", "/ctx/secret-ok", "/ctx/files/sub/two.txt",
            "/opt/dst/one.txt", "/opt/dst/sub/two.txt", "/ctx/tmpdir/keep"} <= listed
    # an exception inside an excluded directory brings that file (and its dir) back
    assert not {"/ctx/a.log", "/ctx/sub/deep/b.log", "/ctx/secret.txt", "/ctx/tmpdir/x"} & listed
    assert brun(b, tag, "cat", "/added/in/t.txt") == "in-tar\n"


USER = f"""FROM {BUSYBOX}
USER app
RUN id -u > /home/app/id && id -g >> /home/app/id
USER app:extra
RUN id -g >> /home/app/id
CMD ["sh", "-c", "cat /home/app/id; id -u; id -g"]
"""


def test_user_by_name_from_passwd(peers):
    b, _ = peers
    tag, cfg = both(peers, "user", USER)
    assert cfg["User"] == "app:extra"
    assert brun(b, tag).split() == ["1000", "1000", "2000", "1000", "2000"]


ONBUILD_BASE = f"""FROM {BUSYBOX}
ONBUILD COPY trig.txt /trig.txt
ONBUILD RUN echo triggered > /trig-run
CMD ["cat", "/trig.txt", "/trig-run"]
"""


def test_onbuild_triggers(peers):
    b, _ = peers
    base, cfg = both(peers, "onbase", ONBUILD_BASE)
    assert cfg["OnBuild"] == ["COPY trig.txt /trig.txt", "RUN echo triggered > /trig-run"]
    tag, cfg = both(peers, "onchild", f"FROM {base}\nLABEL child=1\n", {"trig.txt": "from-ctx\n"})
    assert cfg["OnBuild"] is None  # triggers are not inherited
    assert brun(b, tag) == "from-ctx\ntriggered\n"


WHITEOUT = f"""FROM {BUSYBOX}
RUN mkdir -p /dir/sub && echo a > /dir/a && echo b > /dir/sub/b && echo g > /gone && echo k > /keep
RUN rm /gone && rm -rf /dir && mkdir /dir && echo new > /dir/new
RUN rm -rf /srv /home/app
CMD ["sh", "-c", "ls -a /dir; ls / | grep -c -e gone -e srv; ls -A /home | wc -l; cat /keep"]
"""


def test_whiteouts_and_opaque_dir(peers):
    b, _ = peers
    tag, _ = both(peers, "wh", WHITEOUT)
    assert brun(b, tag).split() == [".", "..", "new", "0", "0", "k"]


MISC = f"""FROM {BUSYBOX}
ARG PORT=8080
ARG DIR
LABEL port=$PORT dir=${{DIR:-none}}
EXPOSE $PORT/udp
ENV HOME_DIR=/srv/${{DIR:-dflt}}
WORKDIR $HOME_DIR
COPY --chmod=751 tree/ /tree/
COPY link lnk/ /links/
RUN ln /tree/a /tree/hard && chmod 4755 /tree/sub/x && mkdir -m 1777 /scratch
USER app
WORKDIR /home/app/made
RUN touch mine
CMD ["sh", "-c", "stat -c '%n %a %u %h' /tree/a /tree/hard /tree/sub/x mine; stat -c '%n %a %u' /scratch ."]
"""


def test_modes_links_args_in_config(peers):
    b, _ = peers
    tag, got = both(peers, "misc", MISC, {"tree/a": "a\n", "tree/sub/x": "x\n", "lnk/target": "t\n"},
                    args=("--build-arg", "DIR=d"), links={"link": "tree/a", "lnk/rel": "target"})
    assert got["Labels"] == {"port": "8080", "dir": "d"} and list(got["ExposedPorts"]) == ["8080/udp"]
    out = brun(b, tag).splitlines()
    # a hard link made by RUN stays one; WORKDIR made under USER app is app's (BuildKit, buildah)
    assert out == ["/tree/a 751 0 2", "/tree/hard 751 0 2", "/tree/sub/x 4755 0 1",
                   "mine 644 1000 1", "/scratch 1777 0", ". 755 1000"]


COPY_FORMS = f"""FROM {BUSYBOX} AS src
RUN mkdir -p /out/d && echo 1 > /out/d/f && echo 2 > /out/g
FROM {BUSYBOX}
ENV LEGACY two words
ENV ESC=\\$HOME Q="a \\"q\\""
COPY a.txt /renamed
COPY *.txt /multi/
COPY d/* /flat/
COPY --chown=7:8 d /kept/
COPY --chown=7:8 a.txt /p1/p2/
COPY --chown=7:8 d /q1/q2/
COPY --from=src /out/d /fromdir
COPY --from=src /out/ /fromall/
ADD z.tgz /z/
CMD ["sh", "-c", "echo \\"$LEGACY|$ESC|$Q\\"; find /renamed /multi /flat /kept /fromdir /fromall /z | sort"]
"""


def test_copy_forms_and_env_forms(peers):
    b, _ = peers
    files = {"a.txt": "a\n", "b.txt": "b\n", "d/x": "x\n", "d/sub/y": "y\n",
             "z.tgz": gzip.compress(tar_bytes({"zz/in": b"z\n"}))}
    tag, cfg = both(peers, "forms", COPY_FORMS, files)
    assert "LEGACY=two words" in cfg["Env"] and "ESC=$HOME" in cfg["Env"]
    out = brun(b, tag).splitlines()
    assert out[0] == 'two words|$HOME|a "q"'
    # d/* names d/x and d/sub, and of a directory source its contents are copied: /flat/y
    assert out[1:] == ["/flat", "/flat/x", "/flat/y", "/fromall", "/fromall/d", "/fromall/d/f",
                       "/fromall/g", "/fromdir", "/fromdir/f", "/kept", "/kept/sub",
                       "/kept/sub/y", "/kept/x", "/multi", "/multi/a.txt", "/multi/b.txt",
                       "/renamed", "/z", "/z/zz", "/z/zz/in"]
    # what COPY --chown makes (the destination, its parents) is that owner's, as in buildah
    own = brun(b, tag, "stat", "-c", "%u:%g", "/kept", "/kept/sub/y", "/p1", "/p1/p2/a.txt", "/q1")
    assert own.split() == ["7:8"] * 5
