"""The chat app end to end in a real headless Chromium: ask a question that makes the model run Python, watch the
answer stream in with its tool step, attach an image and see the OCR tool read it, reload and find the
conversation again. Screenshots go to out/tests/test_ui_e2e/ (or $PUYU_TEST_OUT/test_ui_e2e/).

The test runs twice: with the bundled model (the real path: its own Python and its own OCR call), and with a
scripted model that plays written replies through the real agent, tools and page (`--backend replay`,
puyu/models/replay.py), which lets it also check what the page shows for a known answer. PUYU_E2E_MODEL=bundled (or
scripted) runs one of them.
Playwright drives Debian's /usr/bin/chromium; it never downloads a browser.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from ui_browser import CHROMIUM, CHROMIUM_ARGS, REPO, Chat, running_app

from puyu.core.config import Settings

MODELS = os.environ.get("PUYU_E2E_MODEL", "bundled,scripted").split(",")
BUNDLED = REPO / "models" / "bundled" / "puyu-tiny"
OUT = Path(os.environ.get("PUYU_TEST_OUT", REPO / "out" / "tests")) / "test_ui_e2e"

QUESTION = "Use Python to compute the sum of the squares of 1 to 10."
IMAGE_QUESTION = "Read the text in this image with the ocr tool."
SCRIPT = {"turns": [
    [("I'll compute it with Python.<|action_start|><|interpreter|>\n```python\nsquares = [i * i for i in range(1, 11)]"
     "\nprint(sum(squares))\n```<|action_end|>"),
     "The sum of the squares of 1 to 10 is **385**, which matches $\\frac{n(n+1)(2n+1)}{6}$ for $n = 10$."],
    [("Let me read it.<|action_start|><|plugin|>\n{\"name\": \"ocr\", \"parameters\": {\"image\": \"{file}\"}}"
     "<|action_end|>"),
     "The OCR tool found the text shown in the step above."],
]}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="the OCR step needs tesseract-ocr"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")


def text_image(path: Path) -> Path:
    img = Image.new("RGB", (900, 240), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=64)
    draw.text((40, 30), "Hello puyu", fill="black", font=font)
    draw.text((40, 130), "Invoice 2024-117", fill="black", font=font)
    img.save(path)
    return path


@pytest.fixture(params=MODELS)
def model(request):
    if request.param == "bundled" and not (BUNDLED / "config.json").is_file():
        pytest.skip("the bundled model is not trained yet")
    return request.param


@pytest.fixture
def app_url(tmp_path, model):
    yield from running_app(tmp_path, {**SCRIPT, "delay_s": 0.02} if model == "scripted" else None)


def test_chat_in_a_real_browser(app_url, model, tmp_path):
    out = OUT / model
    out.mkdir(parents=True, exist_ok=True)
    image = text_image(tmp_path / "invoice.png")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        chat = Chat(page, out)
        try:
            page.goto(app_url)
            page.wait_for_selector(Chat.INPUT, timeout=60_000)
            chat.shot("01-welcome")

            chat.ask(QUESTION)
            # while it streams: a growing answer and, as it happens, the Python step
            page.locator(Chat.STEP).filter(has_text="Python").first.wait_for(timeout=60_000)
            chat.wait_idle()
            step = chat.step("Python")
            sync_api.expect(step.locator("[data-testid=stCode]")).to_have_count(2)  # the code and its output
            if model == "scripted":  # a real model's arithmetic is its own business; the page's is not
                sync_api.expect(step).to_contain_text("squares = [i * i for i in range(1, 11)]")
                sync_api.expect(step).to_contain_text("385")
                assert "385" in chat.answers()
            chat.shot("02-python-step")

            if model == "bundled":
                # puyu-tiny reads a second question as a follow-up of the first (its model card says so): the
                # image goes to a new chat, which the sidebar then holds beside the first
                page.get_by_role("button", name="New chat").click()
                page.wait_for_selector(Chat.INPUT, timeout=60_000)
                page.locator("[data-testid=stChatMessage]").first.wait_for(state="detached", timeout=30_000)
            chat.ask(IMAGE_QUESTION, [image])
            chat.wait_idle()
            page.locator("[data-testid=stChatMessage] img").first.wait_for()  # the attached image, as a thumbnail
            if model == "scripted":
                step = chat.step("ocr")
                sync_api.expect(step).to_contain_text("Invoice 2024-117", timeout=10_000)  # what tesseract read
            # puyu-tiny's own choice: it calls ocr for 7-10 of 10 such requests (model card); the page shows
            # whatever it did, and the turn ends with its buttons either way (wait_idle above)
            chat.shot("03-image-step")

            page.reload()  # the URL names the conversation, so it comes back
            page.wait_for_selector(Chat.INPUT, timeout=60_000)
            messages = page.locator("[data-testid=stChatMessage]")
            if model == "scripted":
                messages.filter(has_text=QUESTION).first.wait_for(timeout=30_000)
            messages.filter(has_text=IMAGE_QUESTION).first.wait_for(timeout=30_000)
            if model == "scripted":
                page.locator(Chat.STEP).filter(has_text="ocr").first.wait_for(timeout=30_000)
            chat.shot("04-after-reload")

            page.goto(app_url)  # a fresh visit starts a new chat; the old one waits in the sidebar
            page.wait_for_selector(Chat.INPUT, timeout=60_000)
            listed = page.locator("[data-testid=stSidebar] button").filter(has_text=QUESTION[:20]).first
            listed.wait_for()
            # a title too long for the sidebar stays on one line, cut with an ellipsis, beside its whole icon
            box, icon = listed.bounding_box(), listed.locator("[data-testid=stIconMaterial]").bounding_box()
            assert box["x"] <= icon["x"] and icon["x"] + icon["width"] <= box["x"] + box["width"], (box, icon)
            title = listed.locator("p")
            assert title.bounding_box()["height"] < 1.5 * title.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
            listed.click()
            messages.filter(has_text=QUESTION).first.wait_for(timeout=30_000)
            if model == "scripted":
                messages.filter(has_text=IMAGE_QUESTION).first.wait_for(timeout=30_000)
            else:
                page.locator("[data-testid=stSidebar] button").filter(has_text=IMAGE_QUESTION[:20]).wait_for()
            chat.shot("05-from-sidebar")

            # the settings are still the defaults: no widget slipped to its minimum on the way (seen in CI once)
            page.locator("[data-testid=stSidebar] summary").filter(has_text="Settings").click()
            defaults = Settings()
            sync_api.expect(page.get_by_role("spinbutton", name="Max agent steps")).to_have_value(
                str(defaults.agent.max_steps))
            sync_api.expect(page.get_by_role("spinbutton", name="Max new tokens")).to_have_value(
                str(defaults.gen.max_new_tokens))
            sync_api.expect(page.get_by_role("slider", name="Top-p")).to_have_value(f"{defaults.gen.top_p:g}")
        except Exception:
            chat.shot("failure")
            raise
        finally:
            browser.close()
    print(f"screenshots: {out}")
