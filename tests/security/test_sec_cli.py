"""Every bad flag, file or config value the issue lists gives one line saying what is wrong and how to fix it, and
a non-zero exit, through the real `puyu` command."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.serve_helpers import REPO

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "syntax.yaml").write_text("gen: [temperature: \n")
    (tmp / "hot.yaml").write_text("gen: {temperature: hot}\n")
    (tmp / "a-file").write_text("")
    (tmp / "damaged").mkdir()
    (tmp / "damaged" / "puyu.db").write_bytes(os.urandom(8192))
    return tmp


CASES = [
    (["ask", "q", "--config", "{t}/syntax.yaml"], "not valid YAML"),
    (["ask", "q", "--config", "{t}/hot.yaml"], "temperature"),
    (["ask", "q", "--config", "{t}/missing.yaml"], "cannot read"),
    (["ask", "q", "--max-steps", "0"], "max_steps must be >= 1"),
    (["ask", "q", "--tools", "nosuchtool"], "unknown tool(s): nosuchtool; known:"),
    (["chat", "--tools", "ocr,nosuchtool"], "unknown tool(s): nosuchtool"),
    (["ask", "q", "--data-dir", "{t}/a-file/data"], "cannot be created"),
    (["ask", "q", "--data-dir", "{t}/damaged"], "damaged or not a puyu store"),
    (["serve", "--port", "99999"], "port must be between 1 and 65535"),
    (["ui", "--port", "99999"], "port must be between 1 and 65535"),
    (["serve", "--server.max-body-mb", "0"], "max_body_mb must be > 0"),
    (["ask", "q", "--sandbox.workdir-mb", "-1"], "workdir_mb must be > 0"),
]


@pytest.mark.parametrize("args,words", CASES, ids=[" ".join(a[:3]) for a, _ in CASES])
def test_a_bad_flag_or_file_is_one_line_and_a_nonzero_exit(place, args, words):
    args = [a.format(t=place) for a in args]
    done = subprocess.run([sys.executable, "-m", "puyu", *args, "--backend", "replay", "--model", str(place / "s")],
                          cwd=REPO, capture_output=True, text=True, timeout=100, check=False,
                          env={**os.environ, "PUYU_CONFIG": str(place / "none.yaml")})
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1 and words in lines[0], lines
