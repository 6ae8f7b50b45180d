"""`assistant serve`: an OpenAI-compatible endpoint over the same calls as `assistant ask`, so any
chat UI (Open WebUI), script or colleague can use the assistant.

    POST /v1/chat/completions   plain or streamed (server-sent events), OpenAI's request and reply
    GET  /v1/models             base, rag:<collection>, sft:<adapter>, rag+sft:<collection>:<adapter>
    GET  /health                no key needed; says how full the queue is
    POST /tokenize              {"content": text} → {"tokens": [...]}, as llama.cpp's server has it

The model id names the mode, collection and adapter, by name: a request reaches nothing outside
the project's folders. A reply's text ends with its sources; the extra field "assistant" carries
sources, citations, evidence, supported and abstained.

One model is held in memory and answers one request at a time; up to `queue` more wait, and one
past that gets 429. It binds 127.0.0.1 unless told otherwise, and anywhere else only with an API
key of 16 characters or more, which every request but /health must then carry as
`Authorization: Bearer <key>` (else 401).

    settings.py   ServeConfig, Route (what a model id asks for)
    requests.py   the request bodies, checked by one schema
    guard.py      the key and the body limit, plain ASGI
    jobs.py       the queue, the answer in a thread, the reply plain or streamed
    app.py        the routes
"""

from .app import make_server
from .jobs import completion
from .requests import conversation
from .settings import API_KEY_ENV, Route, ServeConfig, is_loopback

__all__ = ["API_KEY_ENV", "Route", "ServeConfig", "completion", "conversation", "is_loopback", "make_server"]
