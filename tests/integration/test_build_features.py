"""`berth build`'s later features (issue #12): COPY/ADD here-documents,
--timestamp / SOURCE_DATE_EPOCH, RUN's flags, --secret, --pull, ADD of a
URL, builder prune and the kill -9 leftovers `system check` finds. The
fixture `b` (test_build.py) checks that nothing is left behind."""
import json
import os

import pytest

from engine_helpers import BUSYBOX
from test_build import b, build, context, image_id  # noqa: F401 (b is the fixture)

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


def run(b, img, *cmd):
    return b("run", "--rm", "--network", "none", img, *cmd).stdout


def test_copy_add_heredocs(b):
    df = (f"FROM {BUSYBOX}\nARG WHO=world\n"
          "COPY <<EOF /greet\nhello $WHO 'q' \"d\" \\$WHO\nEOF\n"
          "COPY <<'RAW' <<-TABS /docs/\n$WHO stays\nRAW\n\tstripped $WHO\n\tTABS\n"
          "ADD --chmod=0755 <<EOF /bin/hd.sh\n#!/bin/sh\necho script-ran\nEOF\n"
          "COPY f <<EOF /mixed/\nfrom-heredoc\nEOF\n")
    ctx = context(b, df, {"f": "from-context\n"})
    build(b, "-t", "hd", ctx)
    assert run(b, "hd", "cat", "/greet") == "hello world 'q' \"d\" $WHO\n"
    assert run(b, "hd", "cat", "/docs/RAW", "/docs/TABS") == "$WHO stays\nstripped world\n"
    assert run(b, "hd", "hd.sh") == "script-ran\n"
    assert run(b, "hd", "stat", "-c", "%a", "/greet", "/bin/hd.sh") == "644\n755\n"
    assert run(b, "hd", "cat", "/mixed/f", "/mixed/EOF") == "from-context\nfrom-heredoc\n"
    # a changed body is a cache miss for that step only
    again = build(b, "-t", "hd", "--build-arg", "WHO=you", ctx).stdout
    assert run(b, "hd", "cat", "/greet") == "hello you 'q' \"d\" $WHO\n"
    assert "Using cache" not in again.split("COPY <<EOF /greet")[1].split("\n")[1]
    hist = b("history", "--no-trunc", "hd").stdout
    assert "COPY <<EOF /greet" in hist


@pytest.mark.parametrize("df,msg", [
    ("COPY <<EOF <<EOG /file\na\nEOF\nb\nEOG\n", "must be a directory"),
    ("COPY f <<EOF\nx\nEOF\n", "can not be the destination"),
])
def test_heredoc_errors(b, df, msg):
    ctx = context(b, f"FROM {BUSYBOX}\n" + df, {"f": "x\n"})
    r = build(b, ctx, check=False)
    assert r.returncode != 0 and msg in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


REPRO = f"FROM {BUSYBOX}\nRUN echo made > /made && mkdir -p /d/e\nCOPY f /f\nENV X=1\n"


def test_timestamp_reproducible_image_id(b):
    ctx = context(b, REPRO, {"f": "ctx\n"})
    one = image_id(build(b, "--timestamp", "1700000000", "-t", "r1", ctx).stdout)
    (ctx / "f").touch()  # a newer mtime in the context: clamped too
    two = image_id(build(b, "--no-cache", "--timestamp", "1700000000", "-t", "r2", ctx).stdout)
    assert one == two
    info = json.loads(b("image", "inspect", "r1").stdout)[0]
    assert info["Created"].startswith("2023-11-14T22:13:20")
    out = run(b, "r1", "stat", "-c", "%Y", "/made", "/d/e", "/f")
    assert out.split() == ["1700000000"] * 3
    # SOURCE_DATE_EPOCH as a build arg, and from the environment: the same image
    three = image_id(build(b, "--no-cache", "--build-arg", "SOURCE_DATE_EPOCH=1700000000",
                           ctx).stdout)
    assert three == one
    r = b("build", "--no-cache", ctx, env={**b.env, "SOURCE_DATE_EPOCH": "1700000000"})
    assert image_id(r.stdout) == one and "not consumed" not in r.stderr
    # another time: another image, and not the cached one of the first
    four = image_id(build(b, "--timestamp", "1600000000", ctx).stdout)
    assert four != one
    r = build(b, "--timestamp", "soon", ctx, check=False)
    assert r.returncode == 125 and "--timestamp=soon: not a number" in r.stderr
