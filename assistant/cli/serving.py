"""`assistant serve`: the assistant behind an OpenAI-compatible HTTP API."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path
from typing import Optional

import typer

from .common import command, console, settings


@command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; other than loopback needs a key."),
    port: int = typer.Option(8000, "--port"),
    model: Optional[str] = typer.Option(None, "--model", help="Generator: embedded name, HF id or folder."),
    queue: int = typer.Option(4, "--queue", help="Requests that may wait; past that, 429."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="The most tokens a request may ask for."),
    api_key_env: str = typer.Option("ASSISTANT_API_KEY", "--api-key-env",
                                    help="Environment variable with the bearer token clients must send."),
    shutdown_grace: float = typer.Option(10.0, "--shutdown-grace",
                                         help="Seconds a stop waits for answers in flight, then cancels them."),
    adapter_dir: list[Path] = typer.Option([], "--adapter-dir",
                                           help="A folder of runs that adapter ids may name, besides the project's runs/."),
) -> None:
    """Serve /v1/chat/completions (plain and streamed), /v1/models and /health for any OpenAI client.

    Model ids: base, rag:COLLECTION, sft:ADAPTER, rag+sft:COLLECTION:ADAPTER."""
    import uvicorn

    from ..config import override
    from ..serve import ServeConfig, make_server

    cfg = settings()
    cfg = dataclasses.replace(cfg, model=override(cfg.model, name=model))
    options = ServeConfig(host=host, port=port, api_key=os.environ.get(api_key_env) or None, queue=queue,
                          max_tokens=max_tokens, shutdown_grace=shutdown_grace,
                          adapter_dirs=tuple(folder.resolve() for folder in adapter_dir))
    app = make_server(cfg, options)
    guarded = "with an API key" if options.api_key else "no API key"
    console.print(f"Serving {cfg.model.name} on http://{host}:{port}/v1 ({guarded}); Ctrl-C stops.", highlight=False)
    # uvicorn finishes the requests in flight on SIGTERM, then raises the signal again with the
    # handler it found: a no-op here, so that a service manager's stop ends with exit code 0.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=options.shutdown_grace)
    console.print("Stopped.")
