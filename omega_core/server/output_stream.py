"""Live output of a running ``execute``: pushes ``display``/``newline`` output while the command runs.

The machine appends its output to ``machine.output`` (a list of strings) and the evaluator takes it
at the end of each form. ``OutputStream`` looks at that list between slices of the cooperative run
(``Backend.run_cooperative(on_slice=...)``) and pushes what is new, coalesced to at most one push
per ``interval_s``; at the end of each form it pushes what is left of the form's output (the part
never seen in the list, or cut by ``max_output_chars``), so a client that prints every chunk prints
exactly the form's output. The push (``{"push":"output","session","request","text"}``) goes to the
requesting connection and, with the requester's ``client`` id, to the session's other subscribers.
The final reply is unchanged: each form still carries its whole output.

A requester that streams also gets each form's result as the form ends (``{"push":"form",
"session","request","index","result"}``, the result as in the reply, after the form's last output
push): an input of several forms shows ``=> name`` of its first define before the second form's
output, not after the whole input. Followers see results through the session's events.

An oracle answer that streams (``[oracle] stream``) goes the same way as ``{"push":"oracle",...,
"text"}`` pushes, a kind of its own: it is a preview of a value, not output, so clients that add up
a form's output never count it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

INTERVAL_S = 0.02


class OutputStream:
    """Streams one request's output (see the module docstring)."""

    def __init__(self, send: Callable[[str], None], machine_of: Callable[[], Any], interval_s: float = INTERVAL_S,
                 send_oracle: Callable[[str], None] | None = None,
                 send_form: Callable[[int, dict[str, Any]], None] | None = None) -> None:
        self.send = send
        self.send_oracle = send_oracle
        self.send_form = send_form
        """Pushes a form's result to the requester; None when it did not ask to stream."""
        self._forms = 0
        self.machine_of = machine_of
        self.interval_s = interval_s
        self._taken = 0  # items of machine.output already pushed (this form)
        self._sent = 0  # characters of this form's output already pushed
        self._last = 0.0

    def slice(self, force: bool = False) -> None:
        """Between slices: push new output if the last push is ``interval_s`` old (or ``force``)."""
        now = time.perf_counter()
        if not force and now - self._last < self.interval_s:
            return
        output = getattr(self.machine_of(), "output", None)
        if not isinstance(output, list) or len(output) == self._taken:
            return
        if len(output) < self._taken:  # the list was taken and refilled: a new form began
            self._taken = 0
        text = "".join(output[self._taken:])
        self._taken = len(output)
        self._last = now
        if text:
            self._sent += len(text)
            self.send(text)

    def oracle_token(self, text: str) -> None:
        """A piece of a streaming oracle answer (on the loop): pushed after the output before it."""
        if self.send_oracle is None or not text:
            return
        self.slice(force=True)
        self.send_oracle(text)

    def form_done(self, output: str, result: Callable[[], dict[str, Any]] | None = None) -> None:
        """A form ended with ``output`` (its whole text): push the part not pushed yet, then its
        result (``result()`` builds it, only for a requester that streams)."""
        rest = output[self._sent:] if len(output) >= self._sent else ""
        self._taken = self._sent = 0
        if rest:
            self.send(rest)
        if self.send_form is not None and result is not None:
            self.send_form(self._forms, result())
        self._forms += 1


def stream_for(backend: Any, connection: Any, name: str, request_id: Any, instance: Any,
               requester: Any = None) -> OutputStream:
    """An ``OutputStream`` pushing to ``connection`` (the requester, when it asked with ``"stream":
    true``; None otherwise: a client that did not ask gets no frame but its reply) and to the
    session's other subscribers, who follow it. ``requester`` is the requesting connection either way."""
    origin = requester if requester is not None else connection

    def send_kind(kind: str, text: str) -> None:
        try:
            if connection is not None:
                backend.push_to(connection.number, kind, session=name, request=request_id, text=text)
            for number in list(backend.subscribers.get(name, ())):
                if origin is None or number != origin.number:
                    backend.push_to(number, kind, session=name, request=request_id,
                                    client=getattr(origin, "client_id", None), text=text)
        except Exception:  # noqa: BLE001 - a push is a courtesy: the reply carries the output anyway
            pass

    def send_form(index: int, result: dict[str, Any]) -> None:
        if connection is None:
            return
        try:
            backend.push_to(connection.number, "form", session=name, request=request_id, index=index, result=result)
        except Exception:  # noqa: BLE001 - a courtesy, as above: the reply carries every result
            pass

    return OutputStream(lambda text: send_kind("output", text), lambda: instance.session.machine,
                        send_oracle=lambda text: send_kind("oracle", text),
                        send_form=send_form if connection is not None else None)
