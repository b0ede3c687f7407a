"""The sidebar: conversations (new, search, switch, rename, export, delete), then the settings of the one on screen
(ui/settings_panel.py) and the knowledge bases (ui/kb_panel.py)."""
from __future__ import annotations

import streamlit as st

from puyu.ui import backend, history, kb_panel, settings_panel
from puyu.ui import settings as ui_settings
from puyu.ui.i18n import t

ss = st.session_state

MAX_LISTED = 100


# ---- callbacks ---------------------------------------------------------------------------------------------

def on_new_chat() -> None:
    ss.cid = None
    ss.editing = False
    ss.confirm_delete = False
    ss.close_sidebar = True


def on_switch(cid: str) -> None:
    ss.cid = cid
    ss.editing = False
    ss.confirm_delete = False
    ss.close_sidebar = True  # on a phone the sidebar covers the chat the person just chose
    chosen = ui_settings.conversation_settings(ss.base, backend.store(ss.base).get(cid))
    settings_panel.show_settings(chosen.replace(**{"model.api_key": ss.settings.model.api_key}))  # never stored


def on_rename(cid: str) -> None:
    title = " ".join(str(ss.get(f"rename_title.{cid}", "")).split())
    if title:
        backend.store(ss.base).rename(cid, title[:120])


def on_delete(cid: str) -> None:
    backend.delete_conversation(ss.base, cid)
    on_new_chat()


# ---- drawing -----------------------------------------------------------------------------------------------

def draw(lang: str) -> None:
    store = backend.store(ss.base)
    with st.sidebar:
        st.markdown("## :material/forum: puyu")
        st.caption(t(lang, "tagline"))
        st.button(t(lang, "new_chat"), icon=":material/edit_square:", on_click=on_new_chat, width="stretch",
                  key="new_chat")
        _conversations(store, lang)
        if ss.cid is not None and store.get(ss.cid) is not None:
            _manage(store, ss.cid, lang)
        settings_panel.draw(lang)
        kb_panel.draw(lang)


def _conversations(store, lang: str) -> None:
    query = st.text_input(t(lang, "search"), key="search", placeholder=t(lang, "search"), type="search",
                          icon=":material/search:", label_visibility="collapsed").strip()
    convs = backend.conversations(store, query)[:MAX_LISTED]
    if not query:
        st.caption(t(lang, "conversations"))
    with st.container(key="conversation_list", height=min(360, 44 * max(1, len(convs)) + 8), border=False):
        if not convs:
            st.caption(t(lang, "search_none", query=query) if query else t(lang, "no_conversations"))
        for conv in convs:
            current = conv.id == ss.cid
            st.button(conv.title or t(lang, "untitled"), key=f"conv-{conv.id}", on_click=on_switch, args=(conv.id,),
                      type="secondary" if current else "tertiary", width="stretch",
                      icon=":material/chat_bubble:" if current else ":material/chat_bubble_outline:")


def _manage(store, cid: str, lang: str) -> None:
    conv = store.get(cid)
    with st.expander(t(lang, "manage"), icon=":material/tune:", key="manage_panel"):
        # keyed by conversation: the title box of one conversation must never rename another
        with st.form(f"rename_form.{cid}", border=False, clear_on_submit=False):
            st.text_input(t(lang, "title"), value=conv.title, placeholder=t(lang, "untitled"),
                          key=f"rename_title.{cid}", max_chars=120)
            st.form_submit_button(t(lang, "rename"), on_click=on_rename, args=(cid,), icon=":material/edit:",
                                  key="rename_submit")
        st.caption(t(lang, "export"))
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in conv.title)[:40].strip("-") or "conversation"
        with st.container(horizontal=True, gap="small"):  # each button as wide as its label, never cut
            st.download_button("Markdown", history.to_markdown(store, cid, lang), file_name=f"{stem}.md",
                               mime="text/markdown", on_click="ignore", icon=":material/description:",
                               key="export_md")
            st.download_button("JSON", history.to_json(store, cid), file_name=f"{stem}.json",
                               mime="application/json", on_click="ignore", icon=":material/data_object:",
                               key="export_json")
        if not ss.get("confirm_delete"):
            st.button(t(lang, "delete"), icon=":material/delete:", key="delete",
                      on_click=lambda: ss.update(confirm_delete=True))
        else:
            st.warning(t(lang, "delete_confirm"))
            with st.container(horizontal=True, gap="small"):
                st.button(t(lang, "delete_yes"), type="primary", key="delete_yes", on_click=on_delete, args=(cid,))
                st.button(t(lang, "cancel"), key="delete_no", on_click=lambda: ss.update(confirm_delete=False))
