"""The row under each answer: copy it, rate it (thumbs up or down, and a comment), switch between the versions a
regenerated or edited turn has had (‹ 2/3 ›), and for the last turn regenerate or edit it.

Copying happens in the browser alone (a small script and the answer's text in the button), so it needs no rerun
and works while another answer streams. Ratings and comments are stored with the conversation (agent/store.py),
and `puyu train data --from-feedback` turns the liked answers into training records.
"""
from __future__ import annotations

from html import escape

import streamlit as st

from puyu.ui import backend, history
from puyu.ui.i18n import t

ss = st.session_state

COPY_SCRIPT = """<script>
if (!window.puyuCopy) {
  window.puyuCopy = true;
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.puyu-copy");
    if (!button) return;
    const text = button.dataset.text;
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {  // no Clipboard API (a page served over plain HTTP to another machine): the older way
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    const label = button.querySelector(".label");
    label.textContent = button.dataset.copied;
    setTimeout(() => { label.textContent = button.dataset.label; }, 1500);
  });
}
</script>"""
"""Installed once per page (our own static code; the answer's text only ever travels in a data attribute)."""
RATINGS = {1: "up", 0: "down"}
"""st.feedback's thumbs: 1 is up, 0 is down."""


def install() -> None:
    st.html(COPY_SCRIPT, unsafe_allow_javascript=True)


# ---- callbacks ---------------------------------------------------------------------------------------------

def on_rating(cid: str, turn: int, key: str, comment: str) -> None:
    backend.set_feedback(ss.base, cid, turn, RATINGS.get(ss.get(key)), comment)
    ss.toast = "feedback_saved"


def on_comment(cid: str, turn: int, rating: str | None, key: str) -> None:
    backend.set_feedback(ss.base, cid, turn, rating, str(ss.get(key, "")))
    ss.toast = "feedback_saved"


def on_version(cid: str, turn: int, n: int) -> None:
    ss.editing = False
    backend.show_version(ss.base, cid, turn, n)


def on_regenerate() -> None:
    ss.pending = {"kind": "regenerate"}


def on_edit(editing: bool) -> None:
    ss.editing = editing


# ---- drawing -----------------------------------------------------------------------------------------------

def copy_button(text: str, lang: str) -> None:
    label = escape(t(lang, "copy"))
    st.html(f'<button class="puyu-copy" type="button" title="{label}" data-text="{escape(text)}" data-label="{label}" '
            f'data-copied="{escape(t(lang, "copied"))}"><span class="icon">content_copy</span>'
            f'<span class="label">{label}</span></button>', width="content")


def draw(cid: str, turn: history.Turn, lang: str, last: bool, busy: bool) -> None:
    """The answer's row. While another answer streams (`busy`), what would rerun the page is disabled: a rerun
    would interrupt that answer."""
    tag = f"{turn.index}-{turn.version}"  # a version on show is a different answer: its own widgets
    with st.container(horizontal=True, key=f"actions-{turn.index}", gap="small", vertical_alignment="center"):
        text = history.answer_text(turn)
        if text:
            copy_button(text, lang)
        key = f"rating-{cid}-{tag}"
        default = {"up": 1, "down": 0}.get(turn.rating)
        st.feedback("thumbs", key=key, default=default, disabled=busy, on_change=on_rating,
                    args=(cid, turn.index, key, turn.comment))
        with st.popover(t(lang, "comment"), icon=":material/comment:", type="tertiary", disabled=busy):
            note = f"comment-{cid}-{tag}"
            st.text_area(t(lang, "comment_label"), turn.comment, key=note, height=80)
            st.button(t(lang, "comment_save"), key=f"comment_save-{tag}", on_click=on_comment,
                      args=(cid, turn.index, turn.rating, note))
        if turn.versions > 1:
            st.button("", icon=":material/chevron_left:", type="tertiary", key=f"older-{turn.index}",
                      help=t(lang, "previous_version"), disabled=busy or turn.version <= 1, on_click=on_version,
                      args=(cid, turn.index, turn.version - 1))
            st.markdown(f"{turn.version} / {turn.versions}", width="content")
            st.button("", icon=":material/chevron_right:", type="tertiary", key=f"newer-{turn.index}",
                      help=t(lang, "next_version"), disabled=busy or turn.version >= turn.versions,
                      on_click=on_version, args=(cid, turn.index, turn.version + 1))
        if last and not busy:
            st.button(t(lang, "regenerate"), icon=":material/refresh:", type="tertiary", on_click=on_regenerate,
                      key="regenerate")
            st.button(t(lang, "edit"), icon=":material/edit:", type="tertiary", on_click=on_edit, args=(True,),
                      key="edit")
