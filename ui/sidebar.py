"""The sidebar: conversations (new, switch, rename, export, delete) and the settings of the one on screen.

Widgets hold their values under `set_*` keys in session state; `ss.settings` (a puyu Settings) is built from them
whenever one changes and stored with the conversation, so each conversation keeps its own settings.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from puyu.settings import Settings
from ui import backend, history
from ui.i18n import LANGUAGES, t

ss = st.session_state

SOURCES = ("bundled", "local", "server", "agent")
SETTING_KEYS = ("set_source", "set_model_path", "set_base_url", "set_server_model", "set_api_key", "set_agent_url",
                "set_temperature", "set_top_p", "set_max_new_tokens", "set_max_steps", "set_system_prompt",
                "set_interpreter", "set_tools", "set_knowledge")
MAX_LISTED = 100


# ---- state changes (widget callbacks) ------------------------------------------------------------------------

def source_of(settings: Settings) -> str:
    if settings.agent_url:
        return "agent"
    if settings.backend == "replay":
        return "replay"
    if settings.backend == "openai":
        return "server"
    return "bundled" if settings.model == "bundled" else "local"


def tools_or_all(settings: Settings) -> list[str]:
    if settings.tools is not None:
        return list(settings.tools)
    return backend.default_tool_choice(settings) if backend.tools_ready() else []


def widget_values(settings: Settings) -> dict:
    source = source_of(settings)
    return {
        "set_source": source,
        "set_model_path": settings.model if source == "local" else "",
        "set_base_url": settings.base_url or "http://127.0.0.1:23333",
        "set_server_model": "" if settings.model == "bundled" or source != "server" else settings.model,
        "set_api_key": settings.api_key or "",
        "set_agent_url": settings.agent_url or "http://127.0.0.1:8000",
        "set_temperature": float(settings.temperature),
        "set_top_p": float(settings.top_p),
        "set_max_new_tokens": int(settings.max_new_tokens),
        "set_max_steps": int(settings.max_steps),
        "set_system_prompt": settings.system_prompt or "",
        "set_interpreter": bool(settings.interpreter),
        "set_tools": list(tools_or_all(settings)),
        "set_knowledge": list(backend.kb_names(settings) if settings.knowledge is None else settings.knowledge),
    }


def settings_from_widgets(settings: Settings, changed: str | None = None) -> Settings:
    """`settings` with what the widgets now say (a widget not on screen keeps the setting as it was). With
    `changed`, only that widget's value is taken: a change event of one widget must not write the others'
    (a browser that re-creates widgets can report their defaults, which would reset every setting)."""
    keys = SETTING_KEYS if changed is None else (changed,)
    v = {**widget_values(settings), **{k: ss[k] for k in keys if k in ss}}
    source = v["set_source"]
    model = {"bundled": {"backend": "transformers", "model": "bundled", "base_url": None},
             "local": {"backend": "transformers", "model": v["set_model_path"].strip(), "base_url": None},
             "server": {"backend": "openai", "model": v["set_server_model"].strip() or "bundled",
                        "base_url": v["set_base_url"].strip() or None},
             "agent": {}, "replay": {}}[source]
    model["agent_url"] = (v["set_agent_url"].strip() or None) if source == "agent" else None
    tools = list(v["set_tools"])
    if "set_tools" not in keys or "set_tools" not in ss:  # not what changed, or not on screen: keep it
        tools = settings.tools
    elif set(tools) == set(backend.default_tool_choice(settings.replace(**model))):
        tools = None  # the default, which follows the model (and tools added later)
    knowledge = list(v["set_knowledge"])
    if "set_knowledge" not in keys or "set_knowledge" not in ss:
        knowledge = settings.knowledge
    elif set(knowledge) == set(backend.kb_names(settings)):
        knowledge = None  # all of them, including knowledge bases created later
    return settings.replace(
        knowledge=knowledge, **model, api_key=v["set_api_key"].strip() or None, temperature=float(v["set_temperature"]),
        top_p=float(v["set_top_p"]), max_new_tokens=int(v["set_max_new_tokens"]), max_steps=int(v["set_max_steps"]),
        system_prompt=v["set_system_prompt"].strip() or None, interpreter=bool(v["set_interpreter"]),
        tools=tools)


def show_settings(settings: Settings) -> None:
    """Put `settings` on the widgets (after switching conversation or resetting)."""
    for key in SETTING_KEYS:
        ss.pop(key, None)
    ss.settings = settings


def on_settings_change(changed: str | None = None) -> None:
    old, new = ss.settings, settings_from_widgets(ss.settings, changed)
    if old.tools is None and (new.model, new.backend) != (old.model, old.backend):
        new = new.replace(tools=None)  # the default tool choice follows the model
        ss.pop("set_tools", None)
    ss.settings = new
    if ss.cid is not None:
        backend.store(ss.settings).update_settings(ss.cid, backend.to_store(ss.settings))
    ss.model_check = None


def on_reset() -> None:
    show_settings(ss.base)
    on_settings_change()


def on_language() -> None:
    ss.lang = ss.set_language or ss.lang
    backend.save_prefs(ss.base, language=ss.lang)


def on_new_chat() -> None:
    ss.cid = None
    ss.editing = False
    ss.confirm_delete = False


def on_switch(cid: str) -> None:
    ss.cid = cid
    ss.editing = False
    ss.confirm_delete = False
    chosen = backend.conversation_settings(ss.base, backend.store(ss.base).get(cid))
    show_settings(chosen.replace(api_key=ss.settings.api_key))  # the key is never stored, so keep the one typed


def on_rename(cid: str) -> None:
    title = " ".join(str(ss.get("rename_title", "")).split())
    if title:
        backend.store(ss.base).rename(cid, title[:120])


def on_delete(cid: str) -> None:
    backend.delete_conversation(ss.base, cid)
    on_new_chat()


def on_kb() -> None:
    backend.save_prefs(ss.base, kb=ss.set_kb)


def on_kb_create() -> None:
    from tools.rag import KnowledgeError

    ss.kb_error = None
    name = str(ss.get("kb_new_name", "")).strip()
    if name:
        try:
            backend.create_kb(ss.base, name)
        except KnowledgeError as e:
            ss.kb_error = str(e)


def on_check_model() -> None:
    try:
        ss.model_check = ("ok", backend.model_name(ss.settings))
    except backend.BackendError as e:
        ss.model_check = ("error", str(e))


# ---- drawing -----------------------------------------------------------------------------------------------

def _bind(key: str, settings: Settings) -> str:
    if key not in ss:
        ss[key] = widget_values(settings)[key]
    return key


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
        _settings(lang)


def _conversations(store, lang: str) -> None:
    st.caption(t(lang, "conversations"))
    convs = backend.conversations(store)[:MAX_LISTED]
    with st.container(key="conversation_list", height=min(360, 44 * max(1, len(convs)) + 8), border=False):
        if not convs:
            st.caption(t(lang, "no_conversations"))
        for conv in convs:
            current = conv.id == ss.cid
            st.button(conv.title or t(lang, "untitled"), key=f"conv-{conv.id}", on_click=on_switch, args=(conv.id,),
                      type="secondary" if current else "tertiary", width="stretch",
                      icon=":material/chat_bubble:" if current else ":material/chat_bubble_outline:")


def _manage(store, cid: str, lang: str) -> None:
    conv = store.get(cid)
    with st.expander(t(lang, "manage"), icon=":material/tune:"):
        with st.form("rename_form", border=False, clear_on_submit=False):
            st.text_input(t(lang, "title"), value=conv.title, key="rename_title", max_chars=120)
            st.form_submit_button(t(lang, "rename"), on_click=on_rename, args=(cid,), icon=":material/edit:",
                                  key="rename_submit")
        st.caption(t(lang, "export"))
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in conv.title)[:40].strip("-") or "conversation"
        cols = st.columns(2)
        cols[0].download_button("Markdown", history.to_markdown(store, cid, lang), file_name=f"{stem}.md",
                                mime="text/markdown", on_click="ignore", icon=":material/description:",
                                key="export_md", width="stretch")
        cols[1].download_button("JSON", history.to_json(store, cid), file_name=f"{stem}.json",
                                mime="application/json", on_click="ignore", icon=":material/data_object:",
                                key="export_json", width="stretch")
        if not ss.get("confirm_delete"):
            st.button(t(lang, "delete"), icon=":material/delete:", key="delete",
                      on_click=lambda: ss.update(confirm_delete=True))
        else:
            st.warning(t(lang, "delete_confirm"))
            cols = st.columns(2)
            cols[0].button(t(lang, "delete_yes"), type="primary", key="delete_yes", on_click=on_delete, args=(cid,))
            cols[1].button(t(lang, "cancel"), key="delete_no", on_click=lambda: ss.update(confirm_delete=False))


def _settings(lang: str) -> None:
    s = ss.settings
    with st.expander(t(lang, "settings"), icon=":material/settings:"):
        if "set_language" not in ss:
            ss.set_language = ss.lang
        st.segmented_control(t(lang, "language"), list(LANGUAGES), format_func=LANGUAGES.get, key="set_language",
                             on_change=on_language, required=True)
        _model(s, lang)
        st.divider()
        st.caption(t(lang, "generation"))
        st.slider(t(lang, "temperature"), 0.0, 2.0, step=0.05, key=_bind("set_temperature", s),
                  help=t(lang, "temperature_help"), on_change=on_settings_change, args=("set_temperature",))
        st.slider(t(lang, "top_p"), 0.05, 1.0, step=0.05, key=_bind("set_top_p", s), on_change=on_settings_change,
                  args=("set_top_p",))
        st.number_input(t(lang, "max_new_tokens"), 16, 32768, step=64, key=_bind("set_max_new_tokens", s),
                        on_change=on_settings_change, args=("set_max_new_tokens",))
        st.number_input(t(lang, "max_steps"), 1, 30, step=1, key=_bind("set_max_steps", s),
                        help=t(lang, "max_steps_help"), on_change=on_settings_change, args=("set_max_steps",))
        st.text_area(t(lang, "system_prompt"), key=_bind("set_system_prompt", s), height=90,
                     placeholder=backend.default_system_prompt(lang), help=t(lang, "system_prompt_help"),
                     on_change=on_settings_change, args=("set_system_prompt",))
        st.divider()
        st.caption(t(lang, "tools"))
        st.toggle(t(lang, "interpreter"), key=_bind("set_interpreter", s), on_change=on_settings_change,
                  args=("set_interpreter",))
        if backend.tools_ready():
            st.multiselect(t(lang, "plugins"), backend.tool_names(), key=_bind("set_tools", s),
                           on_change=on_settings_change, args=("set_tools",))
        else:
            st.caption(t(lang, "tools_loading"))
        st.divider()
        _knowledge(lang)
        st.divider()
        st.button(t(lang, "reset"), icon=":material/restart_alt:", on_click=on_reset, key="reset_settings")


def _knowledge(lang: str) -> None:
    st.caption(t(lang, "knowledge"))
    target = backend.upload_kb(ss.base)
    names = sorted(set(backend.kb_names(ss.base)) | {target})
    ss.set_kb = target
    st.multiselect(t(lang, "kb_search"), backend.kb_names(ss.base), key=_bind("set_knowledge", ss.settings),
                   help=t(lang, "kb_search_help"), on_change=on_settings_change, args=("set_knowledge",))
    st.selectbox(t(lang, "kb_target"), names, key="set_kb", help=t(lang, "knowledge_help"), on_change=on_kb)
    files = backend.kb_files(ss.base, target)
    shown = ", ".join(f.name for f in files[:8]) + (" …" if len(files) > 8 else "")
    st.caption(t(lang, "kb_files", n=len(files), names=shown) if files else t(lang, "kb_empty"))
    with st.form("kb_form", border=False, clear_on_submit=True):
        st.text_input(t(lang, "kb_new"), key="kb_new_name", max_chars=64)
        st.form_submit_button(t(lang, "kb_create"), on_click=on_kb_create, icon=":material/add:", key="kb_submit")
    if ss.get("kb_error"):
        st.error(ss.kb_error, icon=":material/error:")


def _model(s: Settings, lang: str) -> None:
    sources = SOURCES + (("replay",) if s.backend == "replay" else ())
    labels = {"bundled": t(lang, "source_bundled"), "local": t(lang, "source_local"),
              "server": t(lang, "source_server"), "agent": t(lang, "source_agent"), "replay": "Scripted replies (demo)"}
    source = st.selectbox(t(lang, "model"), sources, format_func=labels.get, key=_bind("set_source", s),
                          on_change=on_settings_change, args=("set_source",))
    if source == "local":
        path = st.text_input(t(lang, "model_path"), key=_bind("set_model_path", s), help=t(lang, "model_path_help"),
                             placeholder="/path/to/checkpoint", on_change=on_settings_change,
                             args=("set_model_path",))
        if path.strip() and not (Path(path.strip()).expanduser() / "config.json").is_file():
            st.caption(":material/warning: " + t(lang, "model_failed", error=f"{path.strip()}: no config.json"))
    elif source == "server":
        st.text_input(t(lang, "server_url"), key=_bind("set_base_url", s), help=t(lang, "server_url_help"),
                      on_change=on_settings_change, args=("set_base_url",))
        st.text_input(t(lang, "server_model"), key=_bind("set_server_model", s), help=t(lang, "server_model_help"),
                      on_change=on_settings_change, args=("set_server_model",))
        st.text_input(t(lang, "api_key"), key=_bind("set_api_key", s), type="password", help=t(lang, "api_key_help"),
                      on_change=on_settings_change, args=("set_api_key",))
    elif source == "agent":
        st.text_input(t(lang, "agent_url"), key=_bind("set_agent_url", s), help=t(lang, "agent_url_help"),
                      on_change=on_settings_change, args=("set_agent_url",))
    st.button(t(lang, "check_model"), icon=":material/network_check:", on_click=on_check_model, key="check_model")
    check = ss.get("model_check")
    if check and check[0] == "ok":
        st.success(t(lang, "model_ok", name=check[1]), icon=":material/check_circle:")
    elif check:
        st.error(t(lang, "model_failed", error=check[1]), icon=":material/error:")
