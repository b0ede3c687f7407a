"""The app's file serving (Streamlit AppTest, the real page and a replay model): a result file or an upload that
the code swaps for a link after the answer is never read through it when the page is drawn again, and a document
is indexed from what was checked, not from what the path points to later."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import puyu.runtime  # noqa: F401  (loaded up front, as the app does in the background)
from puyu.core.config import Settings
from puyu.tools import files
from puyu.tools.rag.store import IngestResult
from puyu.ui import backend, uploads
from puyu.ui.settings import SETTINGS_ENV
from tests.security.sec_helpers import as_root, secret_image

pytestmark = pytest.mark.timeout(180)
APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
WRITE_REPORT = ("Writing it.<|action_start|><|interpreter|>\n```python\n"
                "open('report.csv', 'w').write('a,b\\n1,2\\n')\nprint('written')\n```<|action_end|>")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PUYU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    monkeypatch.setenv("PUYU_CONFIG", str(tmp_path / "no-config.yaml"))
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": [WRITE_REPORT, "Your report is ready."]}))
    monkeypatch.setenv("PUYU_MODEL_BACKEND", "replay")
    monkeypatch.setenv("PUYU_MODEL_NAME", str(script))
    backend.reset()
    yield tmp_path
    backend.reset()


def downloads(at: AppTest) -> list:
    return [e for e in at.main.get("download_button")]


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.main.caption)


@as_root
def test_the_download_button_never_serves_a_file_swapped_for_a_link(data_dir):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.chat_input[0].set_value("Make me a report").run()
    assert not at.exception, at.exception
    assert len(downloads(at)) == 1 and "report.csv" in str(downloads(at)[0].proto)
    [work] = (data_dir / "conversations").iterdir()
    secret = secret_image(data_dir / "private")
    (work / "report.csv").unlink()  # as the conversation's code could, after the answer
    os.symlink(secret, work / "report.csv")
    at.run()  # every redraw reads the file again
    assert not at.exception
    assert downloads(at) == [] and "report.csv" in captions(at)  # shown as missing, not served
    os.remove(work / "report.csv")
    (work / "report.csv").write_text("a,b\n3,4\n")  # a real file again: served again
    at.run()
    assert len(downloads(at)) == 1


@as_root
def test_an_uploaded_document_is_indexed_from_what_was_saved_not_a_link_put_in_its_place(tmp_path, monkeypatch):
    settings = Settings().replace(data_dir=str(tmp_path))
    secret = tmp_path / "private" / "secret.md"
    secret.parent.mkdir()
    secret.write_text("# root only\n")
    secret.chmod(0o600)
    saved = files.save_uploads

    def save_then_swap(workdir, items, **limits):  # the code moves between the save and the indexing
        message = saved(workdir, items, **limits)
        for path in files.uploaded_paths(message):
            os.remove(path)
            os.symlink(secret, path)
        return message

    indexed = []
    monkeypatch.setattr(files, "save_uploads", save_then_swap)
    monkeypatch.setattr(uploads.knowledge, "add_document",
                        lambda s, path: indexed.append(Path(path).read_text())
                        or IngestResult("notes.md", "added", 1, None, ""))

    class Upload:
        name, data = "notes.md", b"# mine\n"

        def getvalue(self):
            return self.data

    got = uploads.receive([Upload()], settings, "c1", "en")
    assert indexed == [] and "notes.md" in got.notes[0] and "symbolic link" in got.notes[0]
    monkeypatch.setattr(files, "save_uploads", saved)
    got = uploads.receive([Upload()], settings, "c1", "en")
    assert indexed == ["# mine\n"]
