"""What `puyu serve` checks before a request reaches the agent: the size of its body, the API key, and text that
cannot be stored. Each refusal is an OpenAI-style error object with a 4xx status, and nothing is written first.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ErrorResponse = Callable[[int, str, str], Response]
"""(status, message, error type) -> the response; serve.py's `error`."""


class BodyLimit:
    """ASGI middleware: a request body larger than `max_bytes` is answered 413 before the app sees any of it, whether
    its Content-Length says so or a chunked body turns out so (it is read up to the limit, then handed on)."""

    def __init__(self, app: ASGIApp, max_bytes: int, error: ErrorResponse):
        self.app, self.max_bytes, self.error = app, max_bytes, error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._too_large(scope, receive, send)
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self._too_large(scope, receive, send)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for the client to go away
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        mb = self.max_bytes / 2**20
        response = self.error(413, f"the request body is larger than {mb:g} MB, the limit of this server "
                                   "(server.max_body_mb); send fewer or smaller files", "invalid_request_error")
        await response(scope, receive, send)


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (the scheme in any case), else None."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def key_matches(given: str, expected: str) -> bool:
    """Compared as bytes in constant time: a header's text is Latin-1 (HTTP's), so a key with non-ASCII characters
    is refused, not a crash; a UTF-8 key sent as UTF-8 bytes still matches."""
    return hmac.compare_digest(given.encode("latin-1", "replace"), expected.encode("utf-8"))


def unstorable_text(value: Any, where: str = "") -> str | None:
    """Where `value` (parsed JSON) holds text that is not valid Unicode (a lone surrogate such as "\\ud800", which
    JSON escapes allow but UTF-8 cannot store), or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            return f"{where or 'body'}: character {e.start} is a lone surrogate ({value[e.start]!a}), not valid Unicode"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        found = unstorable_text(inner, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None
