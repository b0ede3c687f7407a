"""Stop strings, applied to streamed text the way OpenAI-compatible servers do: cut at the first one, never return it.

Every backend runs its text through a `StopCutter`: the transformers loop uses it to decide when to stop; the server
backends use it as well, because servers differ (lmdeploy only stops on single-token stop words, and with
`skip_special_tokens: false` it can return the stop token itself).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator


class StopCutter:
    """Feed text deltas in; get back the part that is safe to show.

    Text that could be the beginning of a stop string is held back until the next delta decides it, so a stop
    string split over several tokens (or server chunks) is never half-shown. Once a stop string is seen, `done`
    is set and everything from it on is dropped.
    """

    def __init__(self, stops: list[str] | None):
        self.stops = [s for s in (stops or []) if s]
        self.done = False
        self._held = ""

    def push(self, text: str) -> str:
        if self.done:
            return ""
        buf = self._held + text
        cut = min((i for i in (buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.done, self._held = True, ""
            return buf[:cut]
        keep = self._partial_tail(buf)
        self._held = buf[len(buf) - keep:] if keep else ""
        return buf[:len(buf) - keep]

    def flush(self) -> str:
        """The held-back text, once the stream ended without a stop string."""
        out, self._held = ("" if self.done else self._held), ""
        return out

    def _partial_tail(self, buf: str) -> int:
        """Length of the longest end of `buf` that is a proper beginning of some stop string."""
        best = 0
        for s in self.stops:
            for n in range(min(len(s) - 1, len(buf)), best, -1):
                if buf.endswith(s[:n]):
                    best = n
                    break
        return best


def cut_stream(pieces: Iterable[str], stop: list[str] | None) -> Iterator[str]:
    """The text of `pieces` up to the first stop string, streamed as it comes (for servers that stop late or
    return the stop string itself). Stops reading `pieces` at the stop."""
    cutter = StopCutter(stop)
    for piece in pieces:
        out = cutter.push(piece or "")
        if out:
            yield out
        if cutter.done:
            return
    rest = cutter.flush()
    if rest:
        yield rest
