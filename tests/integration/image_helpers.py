"""What the image tests share: berth on a private store root and a temp dir."""
import os
import pathlib
import shutil
import tempfile

import pytest

from conftest import binary, run


class StoreBerth:
    """`berth --root ROOT ...`; a test file subclasses it for its own views of
    the store (timeout and whether a failure raises are class settings)."""
    timeout = 300
    raises = True

    def __init__(self, root):
        self.root = pathlib.Path(root)

    def __call__(self, *args, check=None, env=None, **kw):
        kw.setdefault("timeout", self.timeout)
        if env is not None:
            kw["env"] = dict(os.environ, **env)
        return run([binary("berth"), "--root", self.root, *args],
                   check=self.raises if check is None else check, **kw)

    def store(self):
        return self.root / "image"

    def check(self, *args):
        return self("system", "check", *args, check=False)


@pytest.fixture
def tmp():
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-image-test-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)
