"""What the security tests share: a root-only secret outside every work dir, a picture, and the skip for attacks
that only exist when the server runs as root."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from PIL import Image

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the attack needs a server running as root (it reads "
                                                        "what only root may)")


def secret_image(folder: Path) -> Path:
    """A 0600 root-owned PNG of an odd size (123x45), which no sandbox may read and no tool may be tricked into."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret.png"
    Image.new("RGB", (123, 45), (200, 10, 10)).save(path)
    path.chmod(0o600)
    return path


def outside_tmp() -> Path:
    """A fresh folder outside /tmp (the sandbox hides /tmp anyway; a data dir elsewhere is what the issue saw), open
    to every user like /srv/puyu-data would be (mkdtemp's 0700 would hide it from the sandbox by accident)."""
    folder = Path(tempfile.mkdtemp(prefix="puyu-sec-", dir="/var/tmp"))
    folder.chmod(0o755)
    return folder


def picture(path: Path, size=(64, 32)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (10, 120, 200)).save(path)
    return path
