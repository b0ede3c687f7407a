"""Start the chat app (`streamlit run ui/app.py`) on a free port and drive it like a person, in Debian's
headless Chromium: for the end-to-end test and bench/ui_latency.py."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("PUYU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: Path, env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run ui/app.py` on a free port; returns the process and its URL once it answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.headless", "true", "--server.port",
           str(port), "--browser.gatherUsageStats", "false"]
    full_env = {**os.environ, "PUYU_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **env}
    proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"streamlit did not start within 90 s:\n{log.read_text()[-3000:]}")


def running_app(tmp_path: Path, script: dict | None):
    """A generator for a pytest fixture: the app on the bundled model (script None) or replaying `script`
    (--backend replay), with the default settings whatever this machine's user configured; yields its URL."""
    env = {"PUYU_CONFIG": str(tmp_path / "no-config.yaml")}
    if script is not None:
        path = tmp_path / "script.json"
        path.write_text(json.dumps(script), "utf-8")
        env |= {"PUYU_MODEL_BACKEND": "replay", "PUYU_MODEL_NAME": str(path)}
    log = tmp_path / "streamlit.log"
    proc, url = start_app(tmp_path / "data", env, log)
    try:
        yield url
    finally:
        stop_app(proc)
        print(f"streamlit log: {log}")


def stop_app(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


WIDE, PHONE = {"width": 1400, "height": 900}, {"width": 420, "height": 860}
"""The two widths every feature is shown at: a laptop, and a phone."""


class Chat:
    """The page, as a person uses it."""

    INPUT = "[data-testid=stChatInput] textarea"
    STEP = "[data-testid=stChatMessage] [data-testid=stExpander]"  # a tool step (not the sidebar's Settings)
    SIDEBAR = "[data-testid=stSidebar]"
    EXPAND = "[data-testid=stExpandSidebarButton], [data-testid=stSidebarCollapsedControl] button"

    def __init__(self, page, shots: Path):
        self.page, self.shots = page, shots

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace) -> None:
        if error is not None:  # what the page showed when the test failed
            self.shot("failure")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def resize(self, size: dict, settle_ms: int = 600) -> None:
        """The window at `size`, once the page has laid itself out again."""
        self.page.set_viewport_size(size)
        self.page.wait_for_timeout(settle_ms)

    def shots_at_both_widths(self, name: str) -> None:
        """`name`-1400.png, then the same page on a phone, `name`-420.png (the page returns to the laptop width)."""
        self.resize(WIDE, 300)
        self.shot(f"{name}-1400")
        self.resize(PHONE)
        self.shot(f"{name}-420")
        self.resize(WIDE)

    def sidebar_shot_on_phone(self, name: str) -> None:
        """`name`-420.png of the sidebar as it is now (opened over the chat, as on a phone); back to the laptop."""
        self.resize(PHONE)
        if not self.sidebar_open():
            self.page.locator(self.EXPAND).first.click()
            self.page.wait_for_timeout(600)
        self.shot(f"{name}-420")
        self.resize(WIDE)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector(self.INPUT, timeout=60_000)

    def sidebar_open(self) -> bool:
        box = self.page.locator(self.SIDEBAR).bounding_box()
        return box is not None and box["x"] + box["width"] > 10

    def panel(self, label: str):
        """A sidebar expander (Manage, Settings, Knowledge bases), opened."""
        details = self.page.locator(f"{self.SIDEBAR} details").filter(
            has=self.page.locator("summary", has_text=label))
        if details.get_attribute("open") is None:
            details.locator("summary").first.click()
        return details

    def no_traceback(self) -> None:
        found = self.page.locator("[data-testid=stException]")
        assert found.count() == 0, found.all_inner_texts()

    def ask(self, text: str, files: list[Path] = ()) -> None:
        if files:
            self.page.set_input_files("[data-testid=stChatInput] input[type=file]", [str(f) for f in files])
            for f in files:  # the drop is handled asynchronously: until its chip shows, the upload has not begun
                self.page.locator("[data-testid=stChatInput]").get_by_text(f.name).first.wait_for(timeout=30_000)
        self.page.fill(self.INPUT, text)
        # the send button is enabled once the text is in and the attachments have uploaded
        self.page.wait_for_selector("[data-testid=stChatInputSubmitButton]:not([disabled])", timeout=30_000)
        self.page.press(self.INPUT, "Enter")

    def settle(self, timeout_ms: int = 60_000) -> None:
        """The run a click started has finished (and removed what it no longer draws)."""
        from playwright.sync_api import TimeoutError as Timeout

        try:  # the click's run may be over before we look
            self.page.wait_for_selector("[data-testid=stApp][data-test-script-state=running]", timeout=2_000)
        except Timeout:
            pass
        self.page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms)

    def wait_idle(self, timeout_ms: int = 120_000) -> None:
        """The answer is done: the app stopped running and drew the last turn's buttons."""
        self.page.wait_for_timeout(300)
        self.page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=timeout_ms)
        self.page.locator(".st-key-regenerate button").wait_for(timeout=timeout_ms)  # in any language

    def step(self, tool: str):
        """The last tool step of `tool`, opened."""
        step = self.page.locator(self.STEP).filter(has_text=tool).last
        step.locator("summary").click()
        return step

    def answers(self) -> str:
        return " ".join(self.page.locator("[data-testid=stChatMessage]").all_inner_texts())
