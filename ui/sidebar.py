"""The sidebar: conversations (new, switch, rename, export, delete) and the settings of the one on screen.

`ss.settings` (a puyu Settings) is the truth: each settings widget is drawn with its setting as its value, and its
change callback writes that one setting back, which is stored with the conversation (each conversation keeps its
own settings). Widgets never get their values through session state: a browser widget that missed a run (an
interrupted rerun that never reached the sidebar) comes back showing its *default* and reports it on the next
event, so the default must be the setting itself, not the widget's minimum. Putting other settings on screen
(switch conversation, reset) bumps `settings_rev`, which is part of every widget key, so the widgets are new.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from puyu.core.config import ENDPOINTS, Settings, knobs
from puyu.ui import backend, history, knowledge
from puyu.ui import settings as ui_settings
from puyu.ui.i18n import LANGUAGES, TEXTS, t

ss = st.session_state

SOURCES = ("bundled", "local", "server", "agent")
KNOBS = knobs(Settings)
"""Numeric settings drawn as sliders or number boxes: {dotted path: (low, high, step)}, from the config tree."""
OTHER_KEYS = {"set_system_prompt": "agent.system_prompt", "set_interpreter": "agent.interpreter",
              "set_tools": "agent.tools", "set_knowledge": "agent.knowledge"}
MODEL_KEYS = ("set_source", "set_model_path", "set_base_url", "set_server_model", "set_endpoint", "set_api_key",
              "set_agent_url")
MAX_LISTED = 100


def knob_key(path: str) -> str:
    return "set_" + path.split(".")[-1]


SETTING_KEYS = MODEL_KEYS + tuple(knob_key(p) for p in KNOBS) + tuple(OTHER_KEYS)


# ---- state changes (widget callbacks) ------------------------------------------------------------------------

def source_of(settings: Settings) -> str:
    if settings.agent_url:
        return "agent"
    if settings.model.backend == "replay":
        return "replay"
    if settings.model.backend == "openai":
        return "server"
    return "bundled" if settings.model.name == "bundled" else "local"


def tools_or_all(settings: Settings) -> list[str]:
    if settings.agent.tools is not None:
        return list(settings.agent.tools)
    return ui_settings.default_tool_choice(settings) if ui_settings.tools_ready() else []


def _value(settings: Settings, path: str):
    for part in path.split("."):
        settings = getattr(settings, part)
    return settings


def widget_values(settings: Settings) -> dict:
    source, model, agent = source_of(settings), settings.model, settings.agent
    return {
        "set_source": source,
        "set_model_path": model.name if source == "local" else "",
        "set_base_url": model.base_url or "http://127.0.0.1:23333",
        "set_server_model": "" if model.name == "bundled" or source != "server" else model.name,
        "set_endpoint": model.endpoint,
        "set_api_key": model.api_key or "",
        "set_agent_url": settings.agent_url or "http://127.0.0.1:8000",
        **{knob_key(p): _value(settings, p) for p in KNOBS},
        "set_system_prompt": agent.system_prompt or "",
        "set_interpreter": bool(agent.interpreter),
        "set_tools": list(tools_or_all(settings)),
        "set_knowledge": list(knowledge.kb_names(settings) if agent.knowledge is None else agent.knowledge),
    }


def widget_key(name: str) -> str:
    """The session-state key of the settings widget `name` (one of SETTING_KEYS) as drawn now."""
    return f"{name}.{ss.get('settings_rev', 0)}"


def settings_from_widgets(settings: Settings, changed: str | None = None) -> Settings:
    """`settings` with what the widgets now say (a widget not on screen keeps the setting as it was). With
    `changed`, only that widget's value is taken: a change event of one widget must not write the others'."""
    keys = SETTING_KEYS if changed is None else (changed,)
    shown = {k for k in keys if widget_key(k) in ss}
    v = {**widget_values(settings), **{k: ss[widget_key(k)] for k in shown}}
    source = v["set_source"]
    model = {"bundled": {"model.backend": "transformers", "model.name": "bundled", "model.base_url": None},
             "local": {"model.backend": "transformers", "model.name": v["set_model_path"].strip(),
                       "model.base_url": None},
             "server": {"model.backend": "openai", "model.name": v["set_server_model"].strip() or "bundled",
                        "model.base_url": v["set_base_url"].strip() or None, "model.endpoint": v["set_endpoint"]},
             "agent": {}, "replay": {}}[source]
    model["agent_url"] = (v["set_agent_url"].strip() or None) if source == "agent" else None
    tools = list(v["set_tools"])
    if "set_tools" not in shown:  # not what changed, or not on screen: keep it
        tools = settings.agent.tools
    elif set(tools) == set(ui_settings.default_tool_choice(settings.replace(**model))):
        tools = None  # the default, which follows the model (and tools added later)
    chosen = list(v["set_knowledge"])
    if "set_knowledge" not in shown:
        chosen = settings.agent.knowledge
    elif set(chosen) == set(knowledge.kb_names(settings)):
        chosen = None  # all of them, including knowledge bases created later
    numbers = {p: type(_value(settings, p))(v[knob_key(p)]) for p in KNOBS}
    return settings.replace(**model, **numbers, **{
        "model.api_key": v["set_api_key"].strip() or None, "agent.system_prompt": v["set_system_prompt"].strip() or None,
        "agent.interpreter": bool(v["set_interpreter"]), "agent.tools": tools, "agent.knowledge": chosen})


def show_settings(settings: Settings) -> None:
    """Put `settings` on the widgets (after switching conversation or resetting): new widget keys, new widgets."""
    ss.settings_rev = ss.get("settings_rev", 0) + 1
    ss.settings = settings


def on_settings_change(changed: str | None = None) -> None:
    ss.settings_error = None
    try:
        old, new = ss.settings, settings_from_widgets(ss.settings, changed)
    except ValueError as e:  # e.g. a server chosen with its URL cleared: keep the settings, say what is wrong
        ss.settings_error = str(e)
        return
    if old.agent.tools is None and (new.model.name, new.model.backend) != (old.model.name, old.model.backend):
        new = new.replace(**{"agent.tools": None})  # the default tool choice follows the model
        show_settings(new)  # ... and the plugin list on screen with it
    ss.settings = new
    if ss.cid is not None:
        backend.store(ss.settings).update_settings(ss.cid, ui_settings.to_store(ss.settings))
    ss.model_check = None


def on_reset() -> None:
    show_settings(ss.base)
    on_settings_change()


def on_language(key: str) -> None:
    ss.lang = ss.get(key) or ss.lang
    ui_settings.save_prefs(ss.base, language=ss.lang)


def on_new_chat() -> None:
    ss.cid = None
    ss.editing = False
    ss.confirm_delete = False


def on_switch(cid: str) -> None:
    ss.cid = cid
    ss.editing = False
    ss.confirm_delete = False
    chosen = ui_settings.conversation_settings(ss.base, backend.store(ss.base).get(cid))
    show_settings(chosen.replace(**{"model.api_key": ss.settings.model.api_key}))  # never stored: keep the one typed


def on_rename(cid: str) -> None:
    title = " ".join(str(ss.get("rename_title", "")).split())
    if title:
        backend.store(ss.base).rename(cid, title[:120])


def on_delete(cid: str) -> None:
    backend.delete_conversation(ss.base, cid)
    on_new_chat()


def on_kb(key: str) -> None:
    ui_settings.save_prefs(ss.base, kb=ss[key])


def on_kb_create() -> None:
    from puyu.tools.rag import KnowledgeError

    ss.kb_error = None
    name = str(ss.get("kb_new_name", "")).strip()
    if name:
        try:
            knowledge.create_kb(ss.base, name)
        except KnowledgeError as e:
            ss.kb_error = str(e)


def on_check_model() -> None:
    try:
        ss.model_check = ("ok", backend.model_name(ss.settings))
    except backend.BackendError as e:
        ss.model_check = ("error", str(e))


# ---- drawing -----------------------------------------------------------------------------------------------

def _bound(name: str) -> dict:
    """Keyword arguments that tie a widget to the setting `name`."""
    return {"key": widget_key(name), "on_change": on_settings_change, "args": (name,)}


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
    v = widget_values(s)
    with st.expander(t(lang, "settings"), icon=":material/settings:"):
        st.segmented_control(t(lang, "language"), list(LANGUAGES), format_func=LANGUAGES.get, default=lang,
                             key=f"set_language.{lang}", on_change=on_language, args=(f"set_language.{lang}",),
                             required=True)
        _model(s, v, lang)
        if ss.get("settings_error"):
            st.error(ss.settings_error, icon=":material/error:")
        st.divider()
        st.caption(t(lang, "generation"))
        for path, (low, high, step) in KNOBS.items():
            _knob(path, low, high, step, v, lang)
        st.text_area(t(lang, "system_prompt"), v["set_system_prompt"], height=90,
                     placeholder=ui_settings.default_system_prompt(s, lang), help=t(lang, "system_prompt_help"),
                     **_bound("set_system_prompt"))
        st.divider()
        st.caption(t(lang, "tools"))
        st.toggle(t(lang, "interpreter"), v["set_interpreter"], **_bound("set_interpreter"))
        if ui_settings.tools_ready():
            names = ui_settings.tool_names()
            st.multiselect(t(lang, "plugins"), names, [n for n in v["set_tools"] if n in names], **_bound("set_tools"))
        else:
            st.caption(t(lang, "tools_loading"))
        st.divider()
        _knowledge(v, lang)
        st.divider()
        st.button(t(lang, "reset"), icon=":material/restart_alt:", on_click=on_reset, key="reset_settings")


def _knob(path: str, low: float, high: float, step: float, v: dict, lang: str) -> None:
    """One numeric setting: a slider for a float, a number box for an int. Its label and help are the app's own
    texts when it has them (`max_steps`, `max_steps_help`), else the setting's name and its docstring."""
    from puyu.core.dataclass_cli import field_help

    name, key = path.split(".")[-1], knob_key(path)
    texts = TEXTS.get(lang, TEXTS["en"])
    label = texts.get(name) or name.replace("_", " ").capitalize()
    hint = texts.get(f"{name}_help") or field_help(Settings)[path][1]
    if isinstance(v[key], float):
        st.slider(label, float(low), float(high), v[key], step=float(step), help=hint, **_bound(key))
    else:
        st.number_input(label, int(low), int(high), v[key], step=int(step), help=hint, **_bound(key))


def _knowledge(v: dict, lang: str) -> None:
    st.caption(t(lang, "knowledge"))
    target = knowledge.upload_kb(ss.base)
    bases = knowledge.kb_names(ss.base)
    names = sorted(set(bases) | {target})
    st.multiselect(t(lang, "kb_search"), bases, [n for n in v["set_knowledge"] if n in bases],
                   help=t(lang, "kb_search_help"), **_bound("set_knowledge"))
    st.selectbox(t(lang, "kb_target"), names, names.index(target), key=f"set_kb.{target}", help=t(lang, "knowledge_help"),
                 on_change=on_kb, args=(f"set_kb.{target}",))
    files = knowledge.kb_files(ss.base, target)
    shown = ", ".join(f.name for f in files[:8]) + (" …" if len(files) > 8 else "")
    st.caption(t(lang, "kb_files", n=len(files), names=shown) if files else t(lang, "kb_empty"))
    with st.form("kb_form", border=False, clear_on_submit=True):
        st.text_input(t(lang, "kb_new"), key="kb_new_name", max_chars=64)
        st.form_submit_button(t(lang, "kb_create"), on_click=on_kb_create, icon=":material/add:", key="kb_submit")
    if ss.get("kb_error"):
        st.error(ss.kb_error, icon=":material/error:")


def _model(s: Settings, v: dict, lang: str) -> None:
    sources = SOURCES + (("replay",) if s.model.backend == "replay" else ())
    labels = {"bundled": t(lang, "source_bundled"), "local": t(lang, "source_local"),
              "server": t(lang, "source_server"), "agent": t(lang, "source_agent"), "replay": "Scripted replies (demo)"}
    source = st.selectbox(t(lang, "model"), sources, sources.index(v["set_source"]), format_func=labels.get,
                          **_bound("set_source"))
    if source == "local":
        path = st.text_input(t(lang, "model_path"), v["set_model_path"], help=t(lang, "model_path_help"),
                             placeholder="/path/to/checkpoint", **_bound("set_model_path"))
        if path.strip() and not (Path(path.strip()).expanduser() / "config.json").is_file():
            st.caption(":material/warning: " + t(lang, "model_failed", error=f"{path.strip()}: no config.json"))
    elif source == "server":
        st.text_input(t(lang, "server_url"), v["set_base_url"], help=t(lang, "server_url_help"),
                      **_bound("set_base_url"))
        st.text_input(t(lang, "server_model"), v["set_server_model"], help=t(lang, "server_model_help"),
                      **_bound("set_server_model"))
        st.selectbox(t(lang, "server_endpoint"), ENDPOINTS, ENDPOINTS.index(v["set_endpoint"]),
                     help=t(lang, "server_endpoint_help"), **_bound("set_endpoint"))
        st.text_input(t(lang, "api_key"), v["set_api_key"], type="password", help=t(lang, "api_key_help"),
                      **_bound("set_api_key"))
    elif source == "agent":
        st.text_input(t(lang, "agent_url"), v["set_agent_url"], help=t(lang, "agent_url_help"), **_bound("set_agent_url"))
    st.button(t(lang, "check_model"), icon=":material/network_check:", on_click=on_check_model, key="check_model")
    check = ss.get("model_check")
    if check and check[0] == "ok":
        st.success(t(lang, "model_ok", name=check[1]), icon=":material/check_circle:")
    elif check:
        st.error(t(lang, "model_failed", error=check[1]), icon=":material/error:")
