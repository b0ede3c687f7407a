"""The chat app's state fixes and chat-app features in a real headless Chromium (Debian's /usr/bin/chromium driven
by Playwright; it never downloads a browser), where only a browser shows them: a language switch then a question,
rename after switching conversations, a phone-sized window, a document answered in the chat it was attached to,
copying to the clipboard, feedback, versions, search, the knowledge-base panel, plain errors.

Each feature is photographed in light mode at 1400 and 420 px wide, into out/tests/test_ui_e2e_features/ (or
$PUYU_TEST_OUT/test_ui_e2e_features/). The language and document tests run the real bundled model; the others a
scripted one (`--backend replay`), whose replies are known, through the real agent, tools and page.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from ui_browser import CHROMIUM, CHROMIUM_ARGS, PHONE, REPO, WIDE, Chat, running_app

BUNDLED = REPO / "models" / "bundled" / "puyu-tiny"
OUT = Path(os.environ.get("PUYU_TEST_OUT", REPO / "out" / "tests")) / "test_ui_e2e_features"
HANDBOOK = ("# Employee handbook\n\nFull-time employees get 23 vacation days per year.\n"
            "You may work from home up to 3 days a week.\nThe office opens at 8:30 on weekdays.\n")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
expect = sync_api.expect


@pytest.fixture
def bundled_app(tmp_path):
    if not (BUNDLED / "config.json").is_file():
        pytest.skip("the bundled model is not trained yet")
    yield from running_app(tmp_path, None)


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def chat_in(browser, name: str, viewport=WIDE, **context) -> Chat:
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(viewport=viewport, color_scheme="light", **context).new_page()
    return Chat(page, out)


def sidebar_titles(chat: Chat) -> list[str]:
    return chat.page.locator(".st-key-conversation_list button").all_inner_texts()


def test_language_switch_then_send_rename_and_export(bundled_app, browser):
    chat = chat_in(browser, "language-rename")
    page = chat.page
    with chat:
        chat.open(bundled_app)
        chat.panel("Settings")
        page.locator(Chat.SIDEBAR).get_by_text("中文", exact=True).click()
        page.get_by_text("有什么可以帮你？").wait_for()
        # the panel stayed open through the switch, and its widgets speak Chinese
        expect(page.locator(Chat.SIDEBAR).get_by_role("combobox", name="模型")).to_be_visible()
        chat.shots_at_both_widths("01-settings-in-chinese")
        chat.ask("2340 的 17% 是多少？")  # a welcome example: once this was a KeyError: 'Bundled model'
        chat.wait_idle()
        chat.no_traceback()
        assert "397.8" in chat.answers()
        page.locator(".st-key-conversation_list").get_by_text("2340 的 17% 是多少？").wait_for()  # titled in Chinese
        chat.shots_at_both_widths("02-answered-in-chinese")

        page.locator(Chat.SIDEBAR).get_by_text("English", exact=True).click()
        page.get_by_text("Conversations", exact=True).wait_for()
        page.locator(".st-key-new_chat button").click()
        page.locator(".st-key-example-2 button").click()  # a second conversation, from a welcome example
        chat.wait_idle()
        chat.no_traceback()
        assert "299" in chat.answers()
        first, second = "2340 的 17% 是多少？", "How many days are there between 2024-03-01 and"
        # Manage is open on the second conversation; choose the first, and rename it
        chat.panel("Manage")
        page.locator(".st-key-conversation_list button").filter(has_text=first).click()
        chat.settle()
        box = page.locator(f"{Chat.SIDEBAR} input[aria-label=Title]")
        expect(box).to_have_value(first)
        box.fill("Percentages")
        page.locator(".st-key-rename_submit button").click()
        page.locator(".st-key-conversation_list").get_by_text("Percentages").wait_for()
        titles = sidebar_titles(chat)
        assert any(second in t for t in titles) and not any(first in t for t in titles), titles
        # both export buttons show their whole label
        for label in ("Markdown", "JSON"):
            text = page.locator(f"{Chat.SIDEBAR} [data-testid=stDownloadButton] p").filter(has_text=label)
            assert text.evaluate("e => e.scrollWidth <= e.clientWidth && !e.innerText.includes('…')"), label
        chat.shot("03-renamed-and-export-1400")
        chat.sidebar_shot_on_phone("03-renamed-and-export")
        chat.no_traceback()


def test_a_document_is_answered_in_the_chat_it_was_attached_to(bundled_app, browser, tmp_path):
    chat = chat_in(browser, "documents")
    page = chat.page
    handbook = tmp_path / "employee_handbook.md"
    handbook.write_text(HANDBOOK, "utf-8")
    with chat:
        chat.open(bundled_app)
        chat.ask("According to my documents, how many vacation days do we get per year?", [handbook])
        chat.wait_idle()
        chat.no_traceback()
        step = page.locator(Chat.STEP).filter(has_text="knowledge_search")
        expect(step).to_have_count(1)
        assert "23" in page.locator("[data-testid=stChatMessage]").last.inner_text()
        source = page.locator("[data-testid=stChatMessage] [data-testid=stExpander]").filter(
            has_text="employee_handbook.md · Employee handbook")
        source.locator("summary").click()
        expect(source).to_contain_text("Full-time employees get 23 vacation days per year.")
        chat.shots_at_both_widths("01-answer-with-sources")

        panel = chat.panel("Knowledge bases")
        chat.settle()
        expect(panel).to_contain_text("employee_handbook.md")
        panel.locator(".st-key-kb_preview-documents-employee_handbook-md button").first.click()
        expect(panel).to_contain_text("The first passages of employee_handbook.md")
        chat.shot("02-knowledge-base-preview-1400")
        chat.sidebar_shot_on_phone("02-knowledge-base-preview")
        panel.locator(".st-key-kb_delete-documents-employee_handbook-md button").first.click()
        panel.locator(".st-key-kb_delete_yes button").click()
        expect(panel).not_to_contain_text("employee_handbook.md")
        chat.shot("03-document-deleted-1400")


@pytest.fixture
def scripted_app(tmp_path, request):
    yield from running_app(tmp_path, {"card": {"default_tools": ["ocr"]}, "delay_s": 0.01, **request.param})


ANSWER = "The sum of the squares of 1 to 10 is **385**."
FAILING = [f"<|action_start|><|interpreter|>\n```python\nimport {m}\n```<|action_end|>" for m in ("nope", "nada", "nil")]


@pytest.mark.parametrize("scripted_app", [{"sequence": [ANSWER, "Again: it is 385.", "y" * 600, *FAILING]}],
                         indirect=True)
def test_answer_row_copy_feedback_versions_search_and_plain_errors(scripted_app, browser):
    chat = chat_in(browser, "answers", permissions=["clipboard-read", "clipboard-write"])
    page = chat.page
    last = page.locator("[data-testid=stChatMessage]").last
    with chat:
        chat.open(scripted_app)
        chat.ask("What is the sum of the squares of 1 to 10?")
        chat.wait_idle()
        copy = last.locator("button.puyu-copy")
        copy.click()
        expect(copy).to_contain_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == ANSWER  # the Markdown, as the model wrote it
        thumbs = last.locator("[class*='st-key-rating-'] button")
        thumbs.first.click()  # thumbs up
        chat.settle()
        last.get_by_role("button", name="Comment").click()
        page.get_by_label("What was right or wrong with this answer? (optional)").fill("Right, and it showed how")
        page.locator("[class*='st-key-comment_save-'] button").click()
        chat.settle()
        chat.shots_at_both_widths("01-copied-and-rated")

        page.locator(".st-key-regenerate button").click()
        chat.wait_idle()
        expect(last).to_contain_text("Again: it is 385.")
        expect(last).to_contain_text("2 / 2")
        chat.shots_at_both_widths("02-second-version")
        page.locator(".st-key-older-0 button").first.click()
        chat.settle()
        expect(last).to_contain_text("1 / 2")
        expect(last).to_contain_text("385")
        page.reload()  # the versions, the one on show and its rating are stored
        page.wait_for_selector(Chat.INPUT, timeout=60_000)
        expect(last).to_contain_text("1 / 2")
        expect(last).not_to_contain_text("Again:")
        expect(thumbs.first).to_have_attribute("aria-checked", "true")  # the first version's thumbs up

        page.locator(".st-key-new_chat button").click()
        chat.ask("Tell me about penguins.")
        chat.wait_idle()
        expect(last).to_contain_text("The model kept repeating itself, so puyu stopped it.")
        assert last.inner_text().count("y") < 400  # stopped long before the token limit
        chat.shots_at_both_widths("03-repetition-stopped")

        page.locator(".st-key-new_chat button").click()
        chat.ask("Import some modules.")
        chat.wait_idle()
        banner = last.locator("[data-testid=stAlert]")
        expect(banner).to_contain_text("The tools failed several times in a row")
        expect(banner).not_to_contain_text("Traceback")
        details = last.locator("[data-testid=stExpander]").filter(has_text="Details")
        chat.settle()
        details.locator("summary").click()
        expect(details.get_by_text("No module named 'nil'")).to_be_visible()
        chat.shots_at_both_widths("04-plain-error-with-details")

        search = page.locator(f"{Chat.SIDEBAR} input[type=search]")
        search.fill("385")
        search.press("Enter")
        chat.settle()
        titles = sidebar_titles(chat)
        assert len(titles) == 1 and "sum of the squares" in titles[0], titles
        chat.shot("05-search-1400")
        chat.sidebar_shot_on_phone("05-search")
        chat.no_traceback()


@pytest.mark.parametrize("scripted_app", [{"turns": [[ANSWER]]}], indirect=True)
def test_on_a_phone_the_sidebar_starts_closed_and_closes_after_a_choice(scripted_app, browser):
    chat = chat_in(browser, "phone", viewport=PHONE)
    page = chat.page
    opener = page.locator(Chat.EXPAND).first
    with chat:
        chat.open(scripted_app)
        page.wait_for_timeout(800)
        assert not chat.sidebar_open()  # the chat is what a phone shows first
        chat.shot("01-welcome-420")
        page.locator(".st-key-example-0 button").click()
        chat.wait_idle()
        assert not chat.sidebar_open()
        chat.shot("02-answer-420")
        opener.click()
        page.wait_for_timeout(800)
        assert chat.sidebar_open()
        chat.shot("03-sidebar-open-420")
        page.locator(".st-key-new_chat button").click()
        chat.settle()
        page.wait_for_timeout(800)
        assert not chat.sidebar_open()  # closed again: the new chat is in view
        opener.click()
        page.wait_for_timeout(800)
        page.locator(".st-key-conversation_list button").first.click()
        chat.settle()
        page.wait_for_timeout(800)
        assert not chat.sidebar_open()
        expect(page.locator("[data-testid=stChatMessage]").last).to_contain_text("385")
        chat.shot("04-conversation-chosen-420")
        chat.no_traceback()
