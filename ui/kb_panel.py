"""The knowledge bases, in the sidebar: which one attached documents go to, what each holds (files, passages, a
preview of each file), deleting a file (its passages leave the index) or a whole knowledge base, and a new one."""
from __future__ import annotations

import streamlit as st

from puyu.ui import knowledge
from puyu.ui.i18n import t

ss = st.session_state

PREVIEW_PASSAGES = 3


# ---- callbacks ---------------------------------------------------------------------------------------------

def on_target(key: str) -> None:
    knowledge.set_upload_kb(ss.base, ss[key])


def on_create() -> None:
    from puyu.tools.rag import KnowledgeError

    ss.kb_error = None
    name = str(ss.get("kb_new_name", "")).strip()
    if name:
        try:
            knowledge.create_kb(ss.base, name)
        except KnowledgeError as e:
            ss.kb_error = str(e)


def on_preview(kb: str, name: str | None) -> None:
    ss.kb_preview = (kb, name) if name else None


def on_confirm(what: tuple | None) -> None:
    ss.kb_confirm = what


def on_delete_file(kb: str, name: str) -> None:
    from puyu.tools.rag import KnowledgeError

    ss.kb_confirm, ss.kb_error = None, None
    try:
        knowledge.delete_document(ss.base, kb, name)
    except KnowledgeError as e:
        ss.kb_error = str(e)


def on_delete_kb(kb: str) -> None:
    ss.kb_confirm = None
    knowledge.delete_kb(ss.base, kb)


# ---- drawing -----------------------------------------------------------------------------------------------

def draw(lang: str) -> None:
    with st.expander(t(lang, "kb_manage"), icon=":material/library_books:", key="kb_panel"):
        bases = knowledge.kb_names(ss.base)
        target = knowledge.upload_kb(ss.base)
        names = sorted(set(bases) | {target})
        st.selectbox(t(lang, "kb_target"), names, names.index(target), key=f"kb_target.{target}",
                     help=t(lang, "knowledge_help"), on_change=on_target, args=(f"kb_target.{target}",))
        if not bases:
            st.caption(t(lang, "kb_none"))
        for kb in bases:
            _kb(kb, lang)
        with st.form("kb_form", border=False, clear_on_submit=True):
            st.text_input(t(lang, "kb_new"), key="kb_new_name", max_chars=64)
            st.form_submit_button(t(lang, "kb_create"), on_click=on_create, icon=":material/add:", key="kb_submit")
        if ss.get("kb_error"):
            st.error(ss.kb_error, icon=":material/error:")


def _kb(kb: str, lang: str) -> None:
    files = knowledge.kb_files(ss.base, kb)
    st.markdown(f"**{kb}**")
    if not files:
        st.caption(t(lang, "kb_empty"))
    for f in files:
        pages = t(lang, "kb_pages", n=f.pages) if f.pages else ""
        with st.container(horizontal=True, gap="small", vertical_alignment="center", key=f"kb_file-{kb}-{f.name}"):
            st.markdown(f":material/description: {f.name}  \n:gray[{t(lang, 'kb_file_meta', chunks=f.chunks, pages=pages)}]",
                        width="stretch")
            st.button("", icon=":material/visibility:", type="tertiary", help=t(lang, "kb_preview"),
                      key=f"kb_preview-{kb}-{f.name}", on_click=on_preview, args=(kb, f.name))
            st.button("", icon=":material/delete:", type="tertiary", help=t(lang, "kb_delete_file"),
                      key=f"kb_delete-{kb}-{f.name}", on_click=on_confirm, args=(("file", kb, f.name),))
        if ss.get("kb_confirm") == ("file", kb, f.name):
            st.warning(t(lang, "kb_delete_file_confirm", name=f.name, kb=kb))
            with st.container(horizontal=True, gap="small"):
                st.button(t(lang, "delete_yes"), type="primary", key="kb_delete_yes", on_click=on_delete_file,
                          args=(kb, f.name))
                st.button(t(lang, "cancel"), key="kb_delete_no", on_click=on_confirm, args=(None,))
        if ss.get("kb_preview") == (kb, f.name):
            with st.container(border=True, key="kb_preview"):
                st.caption(t(lang, "kb_preview_title", name=f.name))
                for passage in knowledge.preview(ss.base, kb, f.name, PREVIEW_PASSAGES):
                    st.text(passage)
                st.button(t(lang, "close"), key="kb_preview_close", on_click=on_preview, args=(kb, None),
                          type="tertiary", icon=":material/close:")
    if ss.get("kb_confirm") == ("kb", kb):
        st.warning(t(lang, "kb_delete_confirm", kb=kb, n=len(files)))
        with st.container(horizontal=True, gap="small"):
            st.button(t(lang, "delete_yes"), type="primary", key="kb_drop_yes", on_click=on_delete_kb, args=(kb,))
            st.button(t(lang, "cancel"), key="kb_drop_no", on_click=on_confirm, args=(None,))
    else:
        st.button(t(lang, "kb_delete"), icon=":material/delete_forever:", type="tertiary", key=f"kb_drop-{kb}",
                  on_click=on_confirm, args=(("kb", kb),))
