"""The FastAPI app of `assistant serve`: its routes, thin over `Assistant`, in the order a request
meets them: the guard (key, body size), the checked body, the names it asks for, a place in the
queue, the answer."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import UserError
from finetune.runs import list_runs
from index.store import Collection, list_collections
from lm.models import ModelError, find_adapter

from ..answering import Assistant
from ..config import Config
from .guard import Guard, error_object
from .jobs import Gate, Job, completion
from .requests import BadRequest, read_chat, read_tokenize
from .settings import Route, ServeConfig

log = logging.getLogger("assistant.serve")
RETRY_AFTER_SECONDS = 2


def error(status: int, message: str, kind: str = "invalid_request_error", headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_object(status, message, kind), status_code=status, headers=headers)


class NotFound(UserError):
    """A collection or adapter the server does not have: 404."""


def adapter_folder(name: str, config: Config, serve: ServeConfig) -> str:
    """The run folder an adapter id names: under the project's runs/ or a folder the operator
    listed, nowhere else. A server engine loads adapters by its own names: passed on as given."""
    if config.model.engine != "transformers":
        return name
    for folder in (Path(config.project_dir) / "runs", *serve.adapter_dirs):
        try:
            find_adapter(folder / name)  # the run folder or its adapter/ subfolder
        except ModelError:
            continue
        return str(folder / name)
    raise NotFound(f"adapter {name!r}: no finished run of that name; see GET /v1/models")


def checked_route(model_id: str, config: Config, serve: ServeConfig) -> tuple[Route, str | None]:
    """The route a model id asks for, its collection and adapter found: (route, adapter folder)."""
    route = Route.parse(model_id)
    if route.collection is not None and not Collection(config.project_dir, route.collection).exists():
        raise NotFound(f"collection {route.collection!r}: no such collection; see GET /v1/models")
    return route, adapter_folder(route.adapter, config, serve) if route.adapter else None


def make_server(config: Config, serve: ServeConfig, helper=None):
    """The app; `helper` (an Assistant) is made from `config` when not given."""
    helper = helper or Assistant(config)
    gate = Gate(serve.queue)
    docs = serve.serves_docs
    app = FastAPI(title="assistant", version="1", docs_url="/docs" if docs else None, redoc_url=None,
                  openapi_url="/openapi.json" if docs else None)
    app.add_middleware(Guard, serve=serve)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException):  # no such route, method not allowed
        return error(err.status_code, str(err.detail), headers=getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def failed(request: Request, err: Exception):  # a bug: logged, and an OpenAI-shaped 500 sent
        log.error("request failed", exc_info=err)
        return error(500, "the server failed to answer this request; its log has the details", "server_error")

    @app.get("/health")
    async def health():
        return {"status": "ok" if gate.held < gate.capacity else "busy", "model": config.model.name,
                "in_flight": gate.held, "capacity": gate.capacity}

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
        try:
            content = read_tokenize(await request.body(), serve.max_tokenize_chars).content
        except BadRequest as err:
            return error(400, str(err))
        # the model loads (once) and the text is cut into tokens in a worker thread: never on the event loop
        tokens = await asyncio.to_thread(_tokens, helper, content)
        if tokens is None:
            return error(404, "this server's model has no local tokenizer")
        return {"tokens": tokens}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        try:
            body = read_chat(await request.body(), serve.max_tokens)
            route, adapter = checked_route(body.model, config, serve)
            question, history, system = body.conversation()
        except NotFound as err:
            return error(404, str(err), "invalid_request_error")
        except UserError as err:
            return error(400, str(err))
        max_tokens = body.max_tokens or body.max_completion_tokens or config.generation.max_new_tokens
        settings = dataclasses.replace(config.generation, max_new_tokens=max_tokens,
                                       temperature=config.generation.temperature if body.temperature is None
                                       else body.temperature,
                                       top_p=config.generation.top_p if body.top_p is None else body.top_p)
        chat = dataclasses.replace(config.chat, system_prompt=system) if system else config.chat
        answering = helper.using(dataclasses.replace(config, generation=settings, chat=chat))
        if not gate.enter():
            return error(429, "the server is busy; try again shortly", "rate_limit_error",
                         {"Retry-After": str(RETRY_AFTER_SECONDS)})
        # From here the request holds a place in the queue: the job gives it back on every path.
        job = Job(answering, dataclasses.replace(route, adapter=adapter), question, history, gate, route)
        if body.stream:
            stream = job.events(body.model, bool(body.stream_options and body.stream_options.include_usage))
            # A stream that is dropped before its first chunk never runs its `finally`; collecting it does.
            weakref.finalize(stream, job.stream_collected)
            return StreamingResponse(stream, media_type="text/event-stream")
        try:
            answer = await job.run(request)
        except NotFound as err:
            return error(404, str(err))
        except UserError as err:
            return error(400, str(err))
        return completion(answer, body.model, max_tokens, route)

    return app


def _tokens(helper, content: str) -> list[int] | None:
    tokenizer = getattr(helper.model(), "tokenizer", None)
    return None if tokenizer is None else tokenizer(content, add_special_tokens=False)["input_ids"]


__all__ = ["adapter_folder", "checked_route", "make_server"]
