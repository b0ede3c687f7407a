"""What an OpenAI-compatible server does, learned from it once and remembered for the process.

Servers differ in ways that decide whether puyu's tool calls survive the trip:

- `/v1/completions` (a raw prompt, rendered by puyu) exists on LMDeploy, vLLM, llama.cpp and `transformers serve`;
  some gateways only offer `/v1/chat/completions` (the server renders the model's own chat template).
- LMDeploy and vLLM take `skip_special_tokens: false`, which keeps `<|action_start|>` & co. in the text they return;
  `transformers serve` refuses unknown fields (HTTP 422) and llama.cpp ignores them. Both decode without special
  tokens, so a model whose tool-call tokens are special (InternLM2's own) loses its calls there. puyu's own models
  keep those tokens as plain added tokens (puyu/core/protocols/internlm2.py ACTION_TOKENS), which survive anywhere.

`learn()` finds out with two one-token requests: a completion carrying the two fields (refused? no such endpoint?),
and, when the model's tokenizer is here to name the token's id, a completion whose `logit_bias` forces
`<|action_start|>`: the text that comes back shows whether the server returns it.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from puyu.core.card import model_folder
from puyu.core.protocols.internlm2 import ACTION_START, IM_START
from puyu.models.base import ModelError

if TYPE_CHECKING:
    from puyu.models.openai_api import OpenAIModel

KEEP_SPECIAL = {"skip_special_tokens": False, "spaces_between_special_tokens": False}
"""LMDeploy's and vLLM's fields: return special tokens, glued to the text as the model wrote them."""


@dataclass
class ServerTraits:
    """What one server does for one model."""

    completions: bool = True
    """/v1/completions answers (puyu's own prompt, sent raw)."""
    keep_special_fields: bool = True
    """It took KEEP_SPECIAL (LMDeploy, vLLM; llama.cpp takes and ignores them; transformers serve refuses them)."""
    keeps_markers: bool | None = None
    """Whether <|action_start|> comes back in generated text (None: not asked yet)."""
    evidence: str = ""
    """How keeps_markers was decided, for the error that names a server's problem."""


_known: dict[tuple[str, str], ServerTraits] = {}
_lock = threading.Lock()


def forget_all() -> None:
    """Forget every server (a server restarted with other flags is then asked again)."""
    with _lock:
        _known.clear()


def learn(model: OpenAIModel, markers: bool) -> ServerTraits:
    """The traits of `model`'s server, asked once per (server, model) and process. `markers`: also find out whether
    tool-call tokens survive (only the InternLM2 protocol needs them)."""
    key = (model.root, model.model)
    with _lock:
        traits = _known.get(key)
        if traits is None:
            traits = _known[key] = _probe_completions(model)
        if markers and traits.keeps_markers is None:
            traits.keeps_markers, traits.evidence = _probe_markers(model, traits)
        return traits


# ---- the probes ------------------------------------------------------------------------------------------------

def _probe_completions(model: OpenAIModel) -> ServerTraits:
    body = {"model": model.model, "prompt": "Hi", "max_tokens": 1, "temperature": 0, **KEEP_SPECIAL}
    status, reply = model.post_json("/completions", body)
    if status in (404, 405, 501):
        return ServerTraits(completions=False, keep_special_fields=False)
    if status in (400, 422) and any(field in reply for field in KEEP_SPECIAL):
        for field in KEEP_SPECIAL:
            body.pop(field)
        status, reply = model.post_json("/completions", body)
        if status < 300:
            return ServerTraits(keep_special_fields=False)
    if status >= 300:
        raise ModelError(f"{model.root}/completions refused a one-token completion: HTTP {status}: {reply[:300]}")
    return ServerTraits()


def _probe_markers(model: OpenAIModel, traits: ServerTraits) -> tuple[bool, str]:
    """Force <|action_start|> with logit_bias and read what comes back; when the server does not honour the bias,
    judge by the tokenizer and the fields the server took."""
    token = _local_token(model.model, ACTION_START)
    if token is not None and traits.completions:
        body: dict[str, Any] = {"model": model.model, "prompt": f"{IM_START}assistant\n", "max_tokens": 1,
                                "temperature": 0, "logit_bias": {str(token["id"]): 100}}
        if traits.keep_special_fields:
            body.update(KEEP_SPECIAL)
        status, reply = model.post_json("/completions", body)
        choice = _first_choice(reply) if status < 300 else {}
        text = choice.get("text")
        if isinstance(text, str) and ACTION_START in text:
            return True, f"a forced {ACTION_START} came back"
        if text == "" and choice.get("finish_reason") == "length":
            return False, f"a forced {ACTION_START} came back as empty text"
    if token is not None and not token["special"]:
        return True, f"the model's tokenizer keeps {ACTION_START} as a plain token"
    if traits.keep_special_fields:
        return True, "the server took skip_special_tokens=false"
    why = "refused skip_special_tokens=false" if traits.completions else "has no /v1/completions"
    return False, f"the server {why} and {ACTION_START} is a special token"


def _local_token(served: str, content: str) -> dict | None:
    """{"id", "special"} of an added token in the served model's tokenizer.json, when that model's folder is here."""
    folder = model_folder(served)
    path = folder / "tokenizer.json" if folder else None
    if path is None or not path.is_file():
        return None
    try:
        added = json.loads(Path(path).read_text("utf-8")).get("added_tokens") or []
    except (OSError, ValueError):
        return None
    return next(({"id": t["id"], "special": bool(t.get("special"))} for t in added
                 if isinstance(t, dict) and t.get("content") == content and "id" in t), None)


def _first_choice(reply: str) -> dict:
    try:
        choices = json.loads(reply).get("choices") or [{}]
    except (ValueError, AttributeError):
        return {}
    return choices[0] if isinstance(choices[0], dict) else {}
