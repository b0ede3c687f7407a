"""puyu's chat page: `puyu ui`, or `streamlit run ui/app.py`.

The page only draws and keeps session state. Questions become turns (ui/turns.py) on a `Chat` (ui/backend.py);
the Events that come back are drawn by ui/components.py, and the row under each answer by ui/actions.py. A run that
starts an answer starts the agent first (it works in its own thread while the page draws), then draws the sidebar
and the stored conversation, streams the new turn, and reruns so the page shows the stored state with its buttons.
"""
from __future__ import annotations

from contextlib import nullcontext

import streamlit as st

from puyu.ui import actions, backend, components, history, sidebar, turns, uploads
from puyu.ui import settings as ui_settings
from puyu.ui.i18n import t
from puyu.ui.settings_panel import source_of

CSS = """<style>
.st-key-conversation_list button {justify-content: flex-start; text-align: left}
.st-key-conversation_list button p {overflow: hidden; text-overflow: ellipsis; white-space: nowrap}
.st-key-conversation_list button > div, .st-key-conversation_list button > div > span {min-width: 0; max-width: 100%;
  justify-content: flex-start}
.st-key-conversation_list button [data-testid="stMarkdownContainer"] {min-width: 0; overflow: hidden}
.st-key-conversation_list button > div > span > span:first-child {flex-shrink: 0}
[class*="st-key-actions-"] button, .st-key-stop button {color: #888}
.st-key-stop {padding-left: 3rem; margin-top: -0.75rem}
button.puyu-copy {display: inline-flex; align-items: center; gap: 0.3rem; border: none; background: none; padding: 0;
  color: #888; font: inherit; font-size: 0.875rem; cursor: pointer}
button.puyu-copy:hover {color: inherit}
button.puyu-copy .icon {font-family: "Material Symbols Rounded"; font-size: 1.15rem; line-height: 1}
</style>"""  # our own static CSS; model text is never rendered as HTML
PHONE_PX = 768  # below this width Streamlit lays the sidebar over the chat (its `md` breakpoint)
# After choosing a conversation or asking something on a phone, close the sidebar that covers the chat (Streamlit
# has no call for it; its own collapse button is what a person would press). No docstrings here: in a Streamlit
# script a bare string is drawn on the page.
CLOSE_SIDEBAR = """<script>/* %d */
if (window.innerWidth <= %d) {
  const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
  if (button && button.offsetParent !== null) button.click();
}
</script>"""

ss = st.session_state
st.set_page_config(page_title="puyu", page_icon=":material/forum:", layout="centered",
                   initial_sidebar_state="auto")  # open beside the chat on a wide screen, closed on a phone
st.html(CSS)
actions.install()


def init_state() -> None:
    if "base" in ss:
        return
    ss.base = ui_settings.base_settings()
    locale = (st.context.locale or "").lower()
    prefs = ui_settings.load_prefs(ss.base)
    ss.lang = prefs.get("language") or ("zh" if locale.startswith("zh") else ss.base.agent.language)
    ss.small_model_seen = bool(prefs.get("small_model_seen"))
    store = backend.store(ss.base)
    linked = store.get(st.query_params.get("c", ""))  # a reload keeps the conversation that was open
    recent = backend.conversations(store)
    ss.cid = linked.id if linked else None
    ss.editing = False
    ss.settings = ui_settings.conversation_settings(ss.base, linked or (recent[0] if recent else None))


def sync_url() -> None:
    if ss.cid and st.query_params.get("c") != ss.cid:
        st.query_params["c"] = ss.cid
    elif not ss.cid and "c" in st.query_params:
        del st.query_params["c"]


# ---- callbacks ---------------------------------------------------------------------------------------------

def on_edit_send() -> None:
    ss.editing = False
    if str(ss.get("edit_text", "")).strip():
        ss.pending = {"kind": "edit", "text": ss.edit_text.strip()}


def on_example(text: str) -> None:
    ss.pending = {"kind": "send", "text": text, "files": []}


def on_dismiss_small_model() -> None:
    ss.small_model_seen = True
    ui_settings.save_prefs(ss.base, small_model_seen=True)


def chosen_action(prompt) -> dict | None:
    """What the user asked for in this run: a button's pending action, or what was typed in the chat input."""
    action = ss.pop("pending", None)
    if action is None and prompt is not None:
        action = {"kind": "send", "text": (prompt.text or "").strip(), "files": list(prompt.files or [])}
    if action and action["kind"] == "send" and not action["text"] and not action["files"]:
        return None
    return action


def start(action: dict, lang: str, top) -> turns.LiveTurn | list[turns.Problem]:
    settings = ss.settings.replace(**{"agent.language": lang})
    try:
        with top, st.spinner(t(lang, "loading_model")):
            backend.runtime(settings)
        with top, st.spinner(t(lang, "reading_files"), show_time=True) if action.get("files") else nullcontext():
            live = turns.start(action, settings, ss.cid, lang)
    except backend.BackendError as e:
        return [turns.Problem.of("model_failed", e, lang), turns.Problem(t(lang, "model_hint"))]
    except turns.Refused as e:
        return e.problems
    ss.cid = live.conversation_id
    return live


# ---- drawing -----------------------------------------------------------------------------------------------

def bubble(role: str, replaces: bool = False):
    """A chat message whose content is one block. Streamlit keeps a previous run's elements on screen until it
    draws over them; a bubble drawn where an older one was starts with a placeholder that wipes the old block,
    so the old answer does not linger under the new one while it streams."""
    message = st.chat_message(role)
    if replaces:
        message.empty()
    return message.container()


def draw_welcome(lang: str) -> None:
    with st.container(key="welcome"):
        st.markdown(f"## {t(lang, 'welcome')}")
        st.caption(t(lang, "welcome_body"))
        for i, key in enumerate(("example_1", "example_2", "example_3")):
            st.button(t(lang, key), key=f"example-{i}", icon=":material/arrow_outward:", on_click=on_example,
                      args=(t(lang, key),))
        if source_of(ss.settings) == "bundled" and not ss.small_model_seen:
            with st.container(key="small_model", border=True):
                st.markdown(":material/info: " + t(lang, "small_model"))
                st.button(t(lang, "dismiss"), key="small_model_ok", type="tertiary", icon=":material/close:",
                          on_click=on_dismiss_small_model)


def stored_turns(busy: bool) -> list[history.Turn]:
    """The conversation as stored, read before a new answer starts writing into it."""
    if not ss.cid:
        return []
    if not busy:
        backend.wait_idle(ss.cid)  # an answer interrupted by this run may still be storing its last events
    return history.turns(backend.store(ss.base), ss.cid)


def draw_history(shown: list[history.Turn], lang: str, busy: bool) -> None:
    if not shown and not busy:
        draw_welcome(lang)
    workdir = ss.base.conversation_dir(ss.cid) if ss.cid else None
    for i, turn in enumerate(shown):
        last = i == len(shown) - 1
        editing = last and ss.editing and not busy
        with bubble("user"):
            if editing:
                st.text_area(t(lang, "edit"), value=turn.text, key="edit_text", label_visibility="collapsed")
                with st.container(horizontal=True):
                    st.button(t(lang, "send"), type="primary", icon=":material/send:", on_click=on_edit_send,
                              key="edit_send")
                    st.button(t(lang, "cancel"), on_click=actions.on_edit, args=(False,), key="edit_cancel")
            else:
                components.user_turn(turn.text, turn.attachments, lang, workdir=workdir)
            for note in ss.get("notes", {}).get((ss.cid, turn.index), []):
                st.caption(":material/library_add: " + note)
        with bubble("assistant"):
            view = components.TurnView(lang, workdir=workdir)
            for event in turn.events:
                view.add(event)
            view.close()
            found = history.sources(turn)
            if found:
                components.show_sources(found, lang)
            if not editing:
                actions.draw(ss.cid, turn, lang, last=last, busy=busy)


def draw_live(live: turns.LiveTurn, lang: str) -> bool:
    """Stream the new turn; False if it broke (the error stays on screen instead of a rerun)."""
    workdir = ss.base.conversation_dir(live.conversation_id)
    with bubble("user", live.replaces):
        components.user_turn(live.question, live.attachments, lang, workdir=workdir)
        for note in live.notes:
            st.caption(":material/library_add: " + note)
    answer = bubble("assistant", live.replaces)
    # Drawn over the old turn's buttons. Clicking it reruns the page, which interrupts this run; `finish` then
    # stops the agent and the rerun shows the stored, stopped turn.
    st.empty().button(t(lang, "stop"), icon=":material/stop_circle:", type="tertiary", key="stop")
    with answer:
        view = components.TurnView(lang, live=True, workdir=workdir)
        try:
            for event in live.events(tick=view.waiting):
                view.add(event)
        except Exception as e:  # noqa: BLE001 - a bug, not the model (that ends in an ErrorEvent): say it plainly
            backend.log.exception("the turn failed")
            view.close()
            components.problem(t(lang, "turn_failed_plain"), f"{type(e).__name__}: {e}", lang)
            return False
        view.close()
    return True


def draw_problems(problems: list[turns.Problem], action: dict | None, lang: str) -> None:
    for p in problems:
        components.problem(p.message, p.detail, lang)
    if problems and action and action.get("text"):  # the chat input is empty again: keep the question at hand
        st.caption(t(lang, "unsent"))
        st.code(action["text"], language=None, wrap_lines=True)


def close_sidebar_on_phones() -> None:
    """Once per chosen conversation or question (the number makes the script new, so that it runs again)."""
    if ss.pop("close_sidebar", False):
        ss.closings = ss.get("closings", 0) + 1
        st.html(CLOSE_SIDEBAR % (ss.closings, PHONE_PX), unsafe_allow_javascript=True)


backend.warm_up()
init_state()
lang = ss.lang
prompt = st.chat_input(t(lang, "placeholder"), key="prompt", accept_file="multiple", file_type=uploads.ACCEPTED,
                       max_upload_size=uploads.MAX_UPLOAD_MB, submit_mode="disable")
top = st.empty()  # the model-loading spinner goes here, so that it never moves the conversation below
action = chosen_action(prompt)
if action:
    ss.close_sidebar = True
started = start(action, lang, top) if action else []
live = started if isinstance(started, turns.LiveTurn) else None
done = False
try:
    shown = stored_turns(busy=live is not None)
    if live is not None:  # the model starts now and works while the page is drawn
        live.begin()
    close_sidebar_on_phones()
    if "toast" in ss:
        st.toast(t(lang, ss.pop("toast")), icon=":material/check_circle:")
    sidebar.draw(lang)
    sync_url()
    draw_history(shown, lang, busy=live is not None)
    if live is None:
        draw_problems(started, action, lang)
    else:
        done = draw_live(live, lang)
        if live.notes:  # what became of its documents stays under the question (for this session)
            ss.setdefault("notes", {})[(live.conversation_id, shown[-1].index + 1 if shown else 0)] = live.notes
finally:
    if live is not None:
        live.finish()  # also when the run was interrupted: the agent stops and the turn is stored
if done:
    st.rerun()  # show the stored turn, its buttons and the conversation's new title in the sidebar
