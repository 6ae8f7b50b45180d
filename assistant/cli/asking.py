"""`assistant ask` and `assistant chat`."""

from __future__ import annotations

import dataclasses
import json
from typing import Optional

import typer

from .common import ANSWER_HELP, GROUNDING_ADAPTER_HELP, GROUNDING_HELP, MODE_HELP, command, console, errors, settings


# The options `ask` and `chat` share: one definition each.
MODE = typer.Option(None, "--mode", "-m", help=MODE_HELP)
COLLECTION = typer.Option(None, "--collection", "-c", help="Collection for rag modes.")
ADAPTER = typer.Option(None, "--adapter", "-a", help="Adapter run folder or name (sft modes).")
MODEL = typer.Option(None, "--model", help="Generator: embedded name, HF id or folder.")
SOURCES = typer.Option(None, "--sources", help="Chunks to put in the prompt (default 3).")
MAX_NEW_TOKENS = typer.Option(None, "--max-new-tokens")
TEMPERATURE = typer.Option(None, "--temperature", help="0 = greedy (default).")
DEVICE = typer.Option(None, "--device", help="auto, cpu, cuda ...")
LOAD_IN_4BIT = typer.Option(None, "--load-in-4bit", help="4-bit NF4 weights (bitsandbytes).")
GROUNDING = typer.Option(None, "--grounding/--no-grounding", help=GROUNDING_HELP)
GROUNDING_ADAPTER = typer.Option(None, "--grounding-adapter/--no-grounding-adapter", help=GROUNDING_ADAPTER_HELP)
ANSWER = typer.Option(None, "--answer", help=ANSWER_HELP)


def chat_settings(mode, collection, adapter, model, sources, max_new_tokens, temperature, device, load_in_4bit,
                  grounding=None, grounding_adapter=None, answer_style=None):
    """The settings with the flags of `ask` and `chat` applied (a new Config; nothing shared changes)."""
    from ..config import override

    cfg = settings()
    return dataclasses.replace(
        cfg, chat=override(cfg.chat, mode=mode, collection=collection, adapter=adapter, sources=sources),
        grounding=override(cfg.grounding, enabled=grounding, adapter=grounding_adapter, answer=answer_style),
        model=override(cfg.model, name=model, device=device, load_in_4bit=load_in_4bit),
        generation=override(cfg.generation, max_new_tokens=max_new_tokens, temperature=temperature))


def assistant_for(cfg):
    """An Assistant that prints model loading and conversion messages on stderr."""
    from ..answering import Assistant

    def progress(message: str) -> None:
        errors.print(f"[dim]{message}[/]", highlight=False)

    return Assistant(cfg, progress=progress)


@command()
def ask(
    question: str = typer.Argument(..., help="The question."),
    mode: Optional[str] = MODE,
    collection: Optional[str] = COLLECTION,
    adapter: Optional[str] = ADAPTER,
    model: Optional[str] = MODEL,
    sources: Optional[int] = SOURCES,
    max_new_tokens: Optional[int] = MAX_NEW_TOKENS,
    temperature: Optional[float] = TEMPERATURE,
    device: Optional[str] = DEVICE,
    load_in_4bit: Optional[bool] = LOAD_IN_4BIT,
    grounding: Optional[bool] = GROUNDING,
    grounding_adapter: Optional[bool] = GROUNDING_ADAPTER,
    answer_style: Optional[str] = ANSWER,
    as_json: bool = typer.Option(False, "--json", help="Print the answer, sources and metadata as JSON."),
) -> None:
    """Answer one question, streamed as Markdown, then the evidence under it and the sources it cited."""
    from ..render import markdown_stream, print_answer_footer

    cfg = chat_settings(mode, collection, adapter, model, sources, max_new_tokens, temperature, device, load_in_4bit,
                        grounding, grounding_adapter, answer_style)
    helper = assistant_for(cfg)
    if as_json:
        print(json.dumps(helper.answer(question).to_json(), indent=1, ensure_ascii=False))
        return
    with markdown_stream(console) as stream:
        answer = helper.answer(question, on_token=stream)
    print_answer_footer(console, answer)


@command()
def chat(
    mode: Optional[str] = MODE,
    collection: Optional[str] = COLLECTION,
    adapter: Optional[str] = ADAPTER,
    model: Optional[str] = MODEL,
    sources: Optional[int] = SOURCES,
    max_new_tokens: Optional[int] = MAX_NEW_TOKENS,
    temperature: Optional[float] = TEMPERATURE,
    device: Optional[str] = DEVICE,
    load_in_4bit: Optional[bool] = LOAD_IN_4BIT,
    grounding: Optional[bool] = GROUNDING,
    grounding_adapter: Optional[bool] = GROUNDING_ADAPTER,
    answer_style: Optional[str] = ANSWER,
) -> None:
    """Chat in the terminal, with history; /mode, /sources, /reset, /quit."""
    import threading

    from rich.text import Text

    from core.errors import UserError

    from ..answering import HELP, Chat
    from ..render import markdown_stream, print_answer_footer, print_sources

    cfg = chat_settings(mode, collection, adapter, model, sources, max_new_tokens, temperature, device, load_in_4bit,
                        grounding, grounding_adapter, answer_style)
    session = Chat(assistant_for(cfg))
    console.print(f"[bold]assistant chat[/] · mode {session.mode} · model {cfg.model.name}"
                  + (f" · collection {cfg.chat.collection}" if session.retrieves else "")
                  + (f" · adapter {cfg.chat.adapter}" if cfg.chat.adapter else ""), highlight=False)
    console.print(f"[dim]{HELP}[/]")
    while True:
        try:
            line = console.input(f"[bold cyan]{session.mode}>[/] ").strip()
        except EOFError:
            console.print()
            return
        if not line:
            continue
        if line.startswith("/"):
            reply = session.command(line)
            if reply.action == "quit":
                return
            if reply.action == "error":
                errors.print(reply.text, style="red", highlight=False, markup=False)
            else:
                console.print(reply.text, highlight=False, markup=False)
            if reply.answer is not None:
                print_sources(console, reply.answer, full=True)
            continue
        stop = threading.Event()
        try:
            searched = session.searched(line)
            if searched:
                console.print(Text(f"searched: {searched}", style="dim"))
            with markdown_stream(console) as stream:
                answer = session.ask(line, on_token=stream, stop=stop)
        except KeyboardInterrupt:
            stop.set()
            console.print("[dim](interrupted)[/]")
            continue
        except UserError as err:  # the chat goes on after a failed question
            errors.print(f"[bold red]error:[/] {err}", highlight=False)
            continue
        print_answer_footer(console, answer)
