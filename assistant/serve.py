"""`assistant serve`: an OpenAI-compatible endpoint over the same calls as `assistant ask`, so any
chat UI (Open WebUI), script or colleague can use the assistant.

    POST /v1/chat/completions   plain or streamed (server-sent events), OpenAI's request and reply
    GET  /v1/models             base, rag:<collection>, sft:<adapter>, rag+sft:<collection>:<adapter>
    GET  /health                no key needed
    POST /tokenize              {"content": text} → {"tokens": [...]}, as llama.cpp's server has it

The model id names the mode, collection and adapter. A reply's text ends with its sources; the
extra field "assistant" carries sources, citations, evidence, supported and abstained.

One model is held in memory and answers one request at a time; up to `queue` more wait, and one
past that gets 429. It binds 127.0.0.1 unless told otherwise, and anywhere else only with an API
key, which every /v1 request must then carry as `Authorization: Bearer <key>` (else 401).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from core.errors import ConfigError, UserError
from finetune.runs import list_runs
from index.store import list_collections
from lm.prompts import Turn

from .answering import Assistant
from .config import MODES, Config, Mode

API_KEY_ENV = "ASSISTANT_API_KEY"


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    """Where to listen; anything but a loopback address needs `api_key`."""
    port: int = 8000
    api_key: str | None = None
    """Bearer token every /v1 request must carry; None on loopback means no check."""
    queue: int = 4
    """Requests that may wait while one is answered; past that a request gets 429."""
    max_tokens: int = 1024
    """The largest max_tokens a request may ask for."""
    max_request_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        if not is_loopback(self.host) and not self.api_key:
            raise ConfigError(f"serving on {self.host} (not this machine only) needs an API key: "
                              f"set {API_KEY_ENV}, or serve on 127.0.0.1")
        if self.queue < 0 or self.max_tokens < 1:
            raise ConfigError("queue must be 0 or more and max_tokens at least 1")


def is_loopback(host: str) -> bool:
    """'127.0.0.1', '::1', 'localhost' → True; '0.0.0.0' → False."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Route:
    """What a model id asks for: 'rag+sft:handbook:faq' → Route('rag+sft', 'handbook', 'faq')."""

    mode: str
    collection: str | None = None
    adapter: str | None = None

    @classmethod
    def parse(cls, model_id: str) -> "Route":
        mode, _, rest = model_id.partition(":")
        if mode not in MODES:
            raise ConfigError(f"model {model_id!r}: use base, rag:COLLECTION, sft:ADAPTER or rag+sft:COLLECTION:ADAPTER")
        kind, parts = Mode.named(mode), [p for p in rest.split(":") if p] if rest else []
        wanted = int(kind.retrieves) + int(kind.uses_adapter)
        if len(parts) > wanted or (kind.uses_adapter and len(parts) < wanted):
            raise ConfigError(f"model {model_id!r}: {mode} takes {wanted} name(s) after it")
        collection = parts[0] if kind.retrieves and parts else None
        adapter = parts[-1] if kind.uses_adapter else None
        return cls(mode, collection, adapter)


def conversation(messages: list[dict]) -> tuple[str, list[Turn], str | None]:
    """OpenAI messages → (question, earlier turns, system prompt); the last message is the question."""
    if not messages or not isinstance(messages, list):
        raise ConfigError("messages must be a non-empty list")
    system = [m.get("content", "") for m in messages if isinstance(m, dict) and m.get("role") == "system"]
    talk = [m for m in messages if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
    if not talk or talk[-1].get("role") != "user" or not isinstance(talk[-1].get("content"), str):
        raise ConfigError("the last message must be the user's question, as text")
    turns, asked = [], None
    for message in talk[:-1]:
        if message["role"] == "user":
            asked = str(message.get("content", ""))
        elif asked is not None:
            turns.append(Turn(asked, str(message.get("content", ""))))
            asked = None
    return talk[-1]["content"], turns, ("\n".join(system) or None)


def with_sources(answer) -> str:
    """The answer's text, then the sources it cited (for clients that show only the text)."""
    if not answer.cited:
        return answer.text
    return answer.text + "\n\nSources:\n" + "\n".join(source.label() for source in answer.cited)


def answer_extra(answer) -> dict:
    """The extra field of a reply: what `assistant ask --json` tells beside the text."""
    data = answer.to_json()
    return {key: data[key] for key in ("mode", "collection", "adapter", "cited", "evidence", "supported",
                                       "abstained", "relevance", "style", "passage", "searched", "sources")}


class Gate:
    """One request answered at a time, `queue` more waiting, the rest turned away (429)."""

    def __init__(self, queue: int) -> None:
        self.admitted = threading.BoundedSemaphore(queue + 1)
        self.turn = threading.Lock()

    def enter(self) -> bool:
        return self.admitted.acquire(blocking=False)

    def leave(self) -> None:
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


def make_server(config: Config, serve: ServeConfig, helper=None):
    """The FastAPI app; `helper` (an Assistant) is made from `config` when not given."""
    helper = helper or Assistant(config)
    gate = Gate(serve.queue)
    app = FastAPI(title="assistant", version="1")

    def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if request.url.path.startswith("/v1") and serve.api_key:
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {serve.api_key}".encode()):
                return error(401, "missing or wrong API key: send Authorization: Bearer <key>", "authentication_error")
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > serve.max_request_bytes:
            return error(413, f"request larger than {serve.max_request_bytes} bytes")
        return await call_next(request)

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": config.model.name}

    @app.get("/v1/models")
    async def models():
        collections = [info.name for info in list_collections(config.project_dir)]
        adapters = [run.name for run in list_runs(config.project_dir) if run.output is not None]
        ids = ["base"] + [f"rag:{c}" for c in collections] + [f"sft:{a}" for a in adapters]
        ids += [f"rag+sft:{c}:{a}" for c in collections for a in adapters]
        return {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "assistant"}
                                           for i in ids]}

    @app.post("/tokenize")
    async def tokenize(request: Request):
        body = await request.json()
        loaded = await asyncio.to_thread(helper.model)
        tokenizer = getattr(loaded, "tokenizer", None)
        if tokenizer is None:
            return error(404, "this server's model has no local tokenizer")
        return {"tokens": tokenizer(str(body.get("content", "")), add_special_tokens=False)["input_ids"]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        raw = await request.body()
        if len(raw) > serve.max_request_bytes:
            return error(413, f"request larger than {serve.max_request_bytes} bytes")
        try:
            body = json.loads(raw)
            route = Route.parse(str(body.get("model", "base")))
            question, history, system = conversation(body.get("messages"))
            max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or
                             config.generation.max_new_tokens)
            if not 1 <= max_tokens <= serve.max_tokens:
                raise ConfigError(f"max_tokens must be between 1 and {serve.max_tokens}")
            temperature = float(body.get("temperature", config.generation.temperature) or 0.0)
        except (ValueError, TypeError, AttributeError, UserError) as err:
            return error(400, str(err))
        if not gate.enter():
            return error(429, "the server is busy; try again shortly", "rate_limit_error")
        settings = dataclasses.replace(config.generation, max_new_tokens=max_tokens, temperature=temperature)
        chat = dataclasses.replace(config.chat, system_prompt=system) if system else config.chat
        answering = helper.using(dataclasses.replace(config, generation=settings, chat=chat))
        job = Job(answering, route, question, history, gate)
        model_id = str(body.get("model", "base"))
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            stream = job.events(model_id, usage)
            # A stream that is dropped before its first chunk never runs its `finally`; collecting it does.
            weakref.finalize(stream, job.stream_collected)
            return StreamingResponse(stream, media_type="text/event-stream")
        try:
            answer = await job.run(request)
        except UserError as err:
            return error(400, str(err))
        return completion(answer, model_id, max_tokens)

    return app


class Job:
    """One request's answer, computed in a worker thread while the request waits or streams; jobs
    take turns on the one model (`gate.turn`)."""

    def __init__(self, helper, route: Route, question: str, history: list[Turn], gate: Gate) -> None:
        self.helper, self.route, self.gate = helper, route, gate
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
                    message = str(item) if isinstance(item, UserError) else f"{type(item).__name__}: {item}"
                    yield f"data: {json.dumps({'error': {'message': message, 'type': 'server_error'}})}\n\n"
                    break
                tail = with_sources(item)[len(item.text):]
                if tail:
                    yield chunk({"content": tail})
                yield chunk({}, finish_reason(item, self.max_tokens), assistant=answer_extra(item))
                if usage:
                    yield f"data: {json.dumps(usage_chunk(ident, created, model_id, item))}\n\n"
                break
            yield "data: [DONE]\n\n"
        finally:
            self.stop.set()  # a client that hung up stops the generation; a finished one changes nothing
            self.part_done("stream")


def finish_reason(answer, max_tokens: int) -> str:
    """'length' when the answer ran out of tokens, else 'stop'."""
    return "length" if answer.generation.new_tokens >= max_tokens else "stop"


def usage_chunk(ident: str, created: int, model_id: str, answer) -> dict:
    g = answer.generation
    return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model_id, "choices": [],
            "usage": {"prompt_tokens": g.prompt_tokens, "completion_tokens": g.new_tokens,
                      "total_tokens": g.prompt_tokens + g.new_tokens}}


def completion(answer, model_id: str, max_tokens: int) -> dict:
    """OpenAI's chat.completion object for an answer, with the extra field "assistant"."""
    g = answer.generation
    return {"id": f"chatcmpl-{secrets.token_hex(8)}", "object": "chat.completion", "created": int(time.time()),
            "model": model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": with_sources(answer)},
                         "finish_reason": finish_reason(answer, max_tokens)}],
            "usage": {"prompt_tokens": g.prompt_tokens, "completion_tokens": g.new_tokens,
                      "total_tokens": g.prompt_tokens + g.new_tokens},
            "assistant": answer_extra(answer)}


__all__ = ["API_KEY_ENV", "Route", "ServeConfig", "completion", "conversation", "is_loopback", "make_server"]
