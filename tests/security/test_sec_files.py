"""Files the server opens for a conversation (tools layer): uploads, tool inputs and outputs, figures, documents
indexed from uploads. The sandboxed code plants its links through the real interpreter; every hostile step is
followed by a normal one that must still work."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from puyu.core.config import SandboxLimits
from puyu.core.messages import INTERPRETER, ToolCall
from puyu.tools.base import Toolbox
from puyu.tools.files import UploadError, save_uploads, uploaded_paths
from puyu.tools.interpreter import PythonInterpreter
from puyu.tools.vision import ImageEdit, ImageInfo
from puyu.tools.workdir import PathRefused, WorkDir
from tests.security.sec_helpers import as_root, outside_tmp, picture, secret_image

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def place():
    """A data dir outside /tmp with two conversations, A and B, and a root-only secret beside them."""
    root = outside_tmp()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def target(place):
    """A folder outside every work dir, where a planted link points."""
    folder = place / "elsewhere"
    folder.mkdir()
    return folder


def conversation(root: Path, name: str) -> tuple[Path, PythonInterpreter, Toolbox]:
    work = root / "conversations" / name
    work.mkdir(parents=True, exist_ok=True)
    interp = PythonInterpreter(work, SandboxLimits(timeout_s=20), hidden=[root])
    return work, interp, Toolbox([ImageInfo(work), ImageEdit(work)], interpreter=interp, workdir=work)


def code(box: Toolbox, source: str):
    return box.run(ToolCall(INTERPRETER, {"code": source}))


def info(box: Toolbox, image: str):
    return box.run(ToolCall("image_info", {"image": image}))


def still_works(box: Toolbox, work: Path) -> None:
    assert code(box, "6 * 7").text == "42"
    picture(work / "fine.png")
    res = info(box, "fine.png")
    assert res.ok and json.loads(res.text)["width"] == 64, res.text


# ---- 1. root writes outside the sandbox through a symlink --------------------------------------------------

@as_root
def test_an_upload_is_never_written_through_a_symlinked_uploads_folder(place, target):
    work, _, box = conversation(place, "a")
    try:
        planted = code(box, f"import os, shutil\nshutil.rmtree('uploads', ignore_errors=True)\n"
                            f"os.symlink({str(target)!r}, 'uploads')\nprint('planted')")
        assert planted.text == "planted"
        with pytest.raises(UploadError, match="symbolic link"):
            save_uploads(work, [("note.txt", b"written as root")])
        assert list(target.iterdir()) == []  # nothing was written where the link points
        code(box, "import os; os.remove('uploads')")
        message = save_uploads(work, [("note.txt", b"hello")])
        assert Path(uploaded_paths(message)[0]).read_bytes() == b"hello"
        still_works(box, work)
    finally:
        box.close()


@as_root
def test_a_conversation_cannot_plant_files_in_another_ones_uploads(place):
    work_b, _, box_b = conversation(place, "b")
    save_uploads(work_b, [("b.txt", b"B's own")])
    work_a, _, box_a = conversation(place, "a")
    try:
        # A's code cannot even see B's folder (the data dir is hidden); it names it by path anyway.
        code(box_a, f"import os; os.symlink({str(work_b / 'uploads')!r}, 'uploads')")
        with pytest.raises(UploadError):
            save_uploads(work_a, [("planted.txt", b"from A")])
        assert sorted(p.name for p in (work_b / "uploads").iterdir()) == ["b.txt"]
        still_works(box_b, work_b)
    finally:
        box_a.close()
        box_b.close()


# ---- 2. root reads what the sandbox may not -------------------------------------------------------------------

@as_root
def test_a_tool_refuses_absolute_paths_and_symlinks_to_root_only_files(place):
    secret = secret_image(place / "private")
    work, _, box = conversation(place, "a")
    try:
        res = info(box, str(secret))
        assert not res.ok and "outside this conversation's files" in res.text and "123" not in res.text
        assert "relative to its work dir" in res.text  # something the model can act on
        res = box.run(ToolCall("image_edit", {"image": "../../private/secret.png", "operation": "grayscale"}))
        assert not res.ok and "'..'" in res.text and not res.images
        code(box, f"import os; os.symlink({str(secret)!r}, 'cat.png'); os.makedirs('pics', exist_ok=True); "
                  f"os.symlink('/var', 'pics/up')")
        res = info(box, "cat.png")
        assert not res.ok and "symbolic link" in res.text and "123" not in res.text, res.text
        res = info(box, "pics/up/" + str(secret.relative_to("/var")))
        assert not res.ok and "symbolic link" in res.text and "123" not in res.text, res.text
        still_works(box, work)
    finally:
        box.close()


@as_root
def test_a_hard_link_or_fifo_in_the_work_dir_is_not_read(place):
    work, _, box = conversation(place, "a")
    try:
        os.mkfifo(work / "pipe.png")  # a FIFO would block a naive open forever
        res = info(box, "pipe.png")
        assert not res.ok and "not a regular file" in res.text
        secret = secret_image(work / "private-dir")  # a root file reachable by a second name
        os.link(secret, work / "again.png")
        res = info(box, "again.png")
        assert not res.ok and "hard link" in res.text and "123" not in res.text
        still_works(box, work)
    finally:
        box.close()


@as_root
def test_one_conversation_cannot_read_anothers_upload(place):
    work_b, _, box_b = conversation(place, "b")
    picture(place / "b-photo.png", size=(77, 66))
    [b_upload] = uploaded_paths(save_uploads(work_b, [("photo.png", (place / "b-photo.png").read_bytes())]))
    work_a, _, box_a = conversation(place, "a")
    try:
        res = info(box_a, b_upload)
        assert not res.ok and "77" not in res.text
        code(box_a, f"import os; os.symlink({b_upload!r}, 'stolen.png')")
        res = info(box_a, "stolen.png")
        assert not res.ok and "77" not in res.text
        res = info(box_b, b_upload)  # B itself, by the path it was told
        assert res.ok and json.loads(res.text)["width"] == 77
        still_works(box_a, work_a)
    finally:
        box_a.close()
        box_b.close()


def test_a_miscopied_upload_path_still_finds_the_upload_but_never_the_file_outside(tmp_path):
    work = tmp_path / "conversations" / "a"
    [shown] = uploaded_paths(save_uploads(work, [("photo.png", picture(tmp_path / "p.png").read_bytes())]))
    box = Toolbox([ImageInfo(work)], workdir=work)
    garbled = shown.replace("/conversations/a/", "/conversations/x/")  # a small model's copy of a long path
    res = info(box, garbled)
    assert res.ok and "used the upload photo.png" in res.text


# ---- outputs and figures ----------------------------------------------------------------------------------

@as_root
def test_tool_outputs_and_figures_are_never_written_or_shown_through_links(place, target):
    work, _, box = conversation(place, "a")
    try:
        picture(work / "in.png")
        # the next names a tool and the interpreter would write: links planted in advance
        code(box, f"import os\nfor n in ('grayscale-1.png', 'grayscale-2.png'):\n"
                  f"    os.symlink({str(target / 'x.png')!r}, n)")
        res = box.run(ToolCall("image_edit", {"image": "in.png", "operation": "grayscale"}))
        assert res.ok and Path(res.images[0]).name == "grayscale-3.png", res.text
        assert not (target / "x.png").exists()
        secret = secret_image(place / "private")
        lying = code(box, "import matplotlib; matplotlib.use('Agg')\nimport matplotlib.pyplot as plt, os\n"
                          "plt.plot([1, 2]); os.makedirs('figures', exist_ok=True)\n"
                          f"os.symlink({str(secret)!r}, 'figures/fig_1.png')")
        assert all(Path(p).resolve() != secret for p in lying.images + lying.files)
        still_works(box, work)
    finally:
        box.close()


def test_workdir_rules_in_one_place(tmp_path):
    work = WorkDir(tmp_path)
    (tmp_path / "a.txt").write_text("a")
    assert work.read("a.txt", 10) == b"a" and work.read(str(tmp_path / "a.txt"), 10) == b"a"
    for bad in ("/etc/passwd", "../x", "", "a/../../b"):
        with pytest.raises(PathRefused):
            work.relative(bad)
    with pytest.raises(PathRefused, match="larger"):
        work.read("a.txt", 0)
    os.symlink(tmp_path / "a.txt", tmp_path / "link.txt")
    with pytest.raises(PathRefused, match="symbolic link"):
        work.read("link.txt", 10)
    with pytest.raises(PathRefused, match="no free name"), work.create(".", "link.txt", iter(())):
        pass
    with work.create(".", "link.txt", iter(["link-1.txt"])) as (f, path):
        f.write(b"new")
    assert path.name == "link-1.txt" and (tmp_path / "a.txt").read_text() == "a"
