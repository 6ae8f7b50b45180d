"""One request's answer: a place in the queue (`Gate`), the work in a thread, the reply plain or
streamed, and the OpenAI objects it is sent as."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from typing import AsyncIterator

from core.errors import UserError
from lm.prompts import Turn

from .settings import Route

log = logging.getLogger("assistant.serve")


class Gate:
    """One request answered at a time, `queue` more waiting, the rest turned away (429)."""

    def __init__(self, queue: int) -> None:
        self.capacity = queue + 1
        self.admitted = threading.BoundedSemaphore(self.capacity)
        self.turn = threading.Lock()
        self.held = 0
        """Requests admitted and not yet done: answering (one) and waiting."""
        self._count = threading.Lock()

    def enter(self) -> bool:
        if not self.admitted.acquire(blocking=False):
            return False
        with self._count:
            self.held += 1
        return True

    def leave(self) -> None:
        with self._count:
            self.held -= 1
        self.admitted.release()

    def leave_after(self, parts: int):
        """A callable that leaves the gate on its `parts`-th distinct call: a streamed request holds
        its place until both its generation and its stream have ended, whichever is later."""
        ended: set = set()
        lock = threading.Lock()

        def part_done(name: str) -> None:
            with lock:
                if name in ended:
                    return
                ended.add(name)
                if len(ended) == parts:
                    self.leave()
        return part_done


class Job:
    """One request's answer, computed in a worker thread while the request waits or streams; jobs
    take turns on the one model (`gate.turn`)."""

    def __init__(self, helper, route: Route, question: str, history: list[Turn], gate: Gate,
                 shown: Route | None = None) -> None:
        """`route.adapter`: the folder to load; `shown`: the route as the request named it."""
        self.helper, self.route, self.gate = helper, route, gate
        self.shown = shown or route
        self.question, self.history = question, history
        self.stop = threading.Event()
        self.part_done = gate.leave_after(2)  # "work" and "stream"; a plain request ends both at once
        self.streaming = False

    def stream_collected(self) -> None:
        if not self.streaming:  # dropped unstarted: it never had work to end
            self.part_done("work")
        self.part_done("stream")

    @property
    def max_tokens(self) -> int:
        return self.helper.config.generation.max_new_tokens

    def answer(self, on_token=None):
        with self.gate.turn:
            return self.helper.answer(self.question, self.route.mode, self.history, collection=self.route.collection,
                                      adapter=self.route.adapter, on_token=on_token, stop=self.stop)

    async def run(self, request):
        """The whole answer; a client that hangs up stops the generation."""
        try:
            task = asyncio.ensure_future(asyncio.to_thread(self.answer))
            while not task.done():
                await asyncio.wait([task], timeout=0.25)
                if not task.done() and await request.is_disconnected():
                    self.stop.set()
            return task.result()
        finally:
            self.part_done("work")
            self.part_done("stream")

    async def events(self, model_id: str, usage: bool) -> AsyncIterator[str]:
        """Server-sent events: a role chunk, the text as it is written, the sources, the end."""
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue = asyncio.Queue()
        ident, created = f"chatcmpl-{secrets.token_hex(8)}", int(time.time())

        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model_id,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        def work():
            try:
                result = self.answer(on_token=lambda text: loop.call_soon_threadsafe(pieces.put_nowait, text))
                loop.call_soon_threadsafe(pieces.put_nowait, result)
            except BaseException as err:  # noqa: BLE001 - handed to the stream, which reports it
                loop.call_soon_threadsafe(pieces.put_nowait, err)

        self.streaming = True
        worker = loop.run_in_executor(None, work)
        # The request leaves the gate once its work and its stream have both ended. Neither release
        # awaits: a client that hangs up cancels this generator, and anyio cancels every later await
        # in a cancelled scope.
        worker.add_done_callback(lambda _: self.part_done("work"))
        try:
            yield chunk({"role": "assistant", "content": ""})
            while True:
                item = await pieces.get()
                if isinstance(item, str):
                    yield chunk({"content": item})
                    continue
                if isinstance(item, BaseException):
                    if isinstance(item, UserError):
                        message, kind = str(item), "invalid_request_error"
                    else:
                        log.error("answer failed", exc_info=item)
                        message, kind = "the server failed to answer this request; its log has the details", "server_error"
                    yield f"data: {json.dumps({'error': {'message': message, 'type': kind}})}\n\n"
                    break
                tail = with_sources(item)[len(item.text):]
                if tail:
                    yield chunk({"content": tail})
                yield chunk({}, finish_reason(item, self.max_tokens), assistant=answer_extra(item, self.shown))
                if usage:
                    yield f"data: {json.dumps(usage_chunk(ident, created, model_id, item))}\n\n"
                break
            yield "data: [DONE]\n\n"
        finally:
            self.stop.set()  # a client that hung up stops the generation; a finished one changes nothing
            self.part_done("stream")


def with_sources(answer) -> str:
    """The answer's text, then the sources it cited (for clients that show only the text)."""
    if not answer.cited:
        return answer.text
    return answer.text + "\n\nSources:\n" + "\n".join(source.label() for source in answer.cited)


def answer_extra(answer, route: Route) -> dict:
    """The extra field of a reply: what `assistant ask --json` tells beside the text; the adapter
    by the name the request gave (never a folder of the server)."""
    data = answer.to_json()
    return {**{key: data[key] for key in ("mode", "collection", "cited", "evidence", "supported", "abstained",
                                          "relevance", "style", "passage", "searched", "sources",
                                          "instructions_ignored", "obeyed_instruction")},
            "adapter": route.adapter}


def finish_reason(answer, max_tokens: int) -> str:
    """'length' when the answer ran out of tokens, else 'stop'."""
    return "length" if answer.generation.new_tokens >= max_tokens else "stop"


def usage_chunk(ident: str, created: int, model_id: str, answer) -> dict:
    g = answer.generation
    return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model_id, "choices": [],
            "usage": {"prompt_tokens": g.prompt_tokens, "completion_tokens": g.new_tokens,
                      "total_tokens": g.prompt_tokens + g.new_tokens}}


def completion(answer, model_id: str, max_tokens: int, route: Route) -> dict:
    """OpenAI's chat.completion object for an answer, with the extra field "assistant"."""
    g = answer.generation
    return {"id": f"chatcmpl-{secrets.token_hex(8)}", "object": "chat.completion", "created": int(time.time()),
            "model": model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": with_sources(answer)},
                         "finish_reason": finish_reason(answer, max_tokens)}],
            "usage": {"prompt_tokens": g.prompt_tokens, "completion_tokens": g.new_tokens,
                      "total_tokens": g.prompt_tokens + g.new_tokens},
            "assistant": answer_extra(answer, route)}


__all__ = ["Gate", "Job", "answer_extra", "completion", "finish_reason", "usage_chunk", "with_sources"]
