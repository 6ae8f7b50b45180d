"""Chat: streamed answers with numbered sources, a mode selector, collection and adapter pickers.

The conversation is an `assistant.answering.Chat` (the object behind `assistant chat`): its history
is kept for the session until New chat (ctrl+n).
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Select, Static

from assistant.config import MODES

from ..messages import AnswerFinished, AnswerToken
from ..widgets.adapter_select import AdapterSelect
from assistant.render import answer_notes

from ..widgets.answer_view import AnswerView, answer_meta, answer_sources
from ..widgets.collection_select import CollectionSelect
from .base import JobScreen

WELCOME = ("Ask about your documents. Modes: base (the model alone), rag (with sources from a collection), "
           "sft (with a fine-tuned adapter), rag+sft (both). Choose a source to read it in full.")


class ChatScreen(JobScreen):
    MODE = "chat"
    BINDINGS = [
        Binding("escape", "stop", "Stop answer"),
        Binding("ctrl+n", "new_chat", "New chat"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session = None
        self.stop_answer = threading.Event()
        self.answering: AnswerView | None = None

    @property
    def project_dir(self) -> Path:
        return Path(self.app.config.project_dir)

    def compose_body(self) -> ComposeResult:
        chat = self.app.config.chat
        with Horizontal(classes="form-row", id="chat-bar"):
            yield Select([(m, m) for m in MODES], value=chat.mode, allow_blank=False, id="mode", compact=True)
            yield CollectionSelect(self.project_dir, chat.collection, id="chat-collection", compact=True)
            yield AdapterSelect(self.project_dir, chat.adapter, id="chat-adapter", compact=True)
            yield Button("New chat", id="new-chat", compact=True)
        with VerticalScroll(id="conversation"):
            yield Static(WELCOME, classes="welcome", markup=False)
        yield Input(placeholder="Ask a question and press enter", id="question")

    def on_mount(self) -> None:
        self.query_one("#question", Input).focus()

    def on_screen_resume(self) -> None:
        # Chat and Compare ask the same collection: the one last chosen on either (else the config's
        # or the most recent); Compare opened on another one than Chat.
        self.query_one(CollectionSelect).reload(choose=self.app.collection)
        self.query_one(AdapterSelect).reload()

    @on(Select.Changed, "#chat-collection")
    def collection_chosen(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.app.collection = str(event.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.answering is not None
        return True

    def chat_session(self):
        """The Chat, made on first use with the mode shown in the selector."""
        if self.session is None:
            from assistant.answering import Chat

            self.session = Chat(self.app.assistant, mode=str(self.query_one("#mode", Select).value))
        return self.session

    @on(Select.Changed, "#mode")
    def mode_changed(self, event: Select.Changed) -> None:
        if self.session is not None and event.value is not Select.NULL:
            self.session.set_mode(str(event.value))

    @on(Input.Submitted, "#question")
    def ask(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        if self.answering is not None:
            self.notify("Still answering; press escape to stop it.", severity="warning")
            return
        session = self.chat_session()
        event.input.value = ""
        if question.startswith("/"):  # the same slash commands as `assistant chat`
            self.run_command(session, question)
            return
        session.collection = self.query_one(CollectionSelect).name_or_none
        session.adapter = self.query_one(AdapterSelect).name_or_none
        conversation = self.query_one("#conversation", VerticalScroll)
        view = AnswerView(session.mode)
        conversation.mount(Static(question, classes="question", markup=False))
        conversation.mount(view)
        conversation.scroll_end(animate=False)
        self.answering = view
        self.stop_answer.clear()
        self.refresh_bindings()
        self.run_answer(question)

    def run_command(self, session, line: str) -> None:
        reply = session.command(line)
        if reply.action == "quit":
            self.app.exit()
        elif reply.action == "reset":
            self.action_new_chat()
        elif reply.action == "mode":
            self.query_one("#mode", Select).value = session.mode
        if reply.action not in ("quit", "reset"):
            lines = [reply.text] + ([s.label() for s in reply.answer.sources] if reply.answer else [])
            self.query_one("#conversation", VerticalScroll).mount(Static("\n".join(lines), classes="note", markup=False))
            self.query_one("#conversation", VerticalScroll).scroll_end(animate=False)

    @work(thread=True, exclusive=True, group="answer", exit_on_error=False)
    def run_answer(self, question: str) -> None:
        session = self.chat_session()
        searched = session.searched(question)
        if searched and self.answering is not None:
            self.app.call_from_thread(self.answering.show_searched, searched)
        with self.app.generating:
            answer = session.ask(question, on_token=lambda text: self.post_message(AnswerToken("chat", text)),
                                 stop=self.stop_answer)
        self.post_message(AnswerFinished("chat", answer))

    def on_answer_token(self, event: AnswerToken) -> None:
        if self.answering is not None:
            self.answering.append(event.text)
            self.query_one("#conversation", VerticalScroll).scroll_end(animate=False)

    async def on_answer_finished(self, event: AnswerFinished) -> None:
        view, self.answering = self.answering, None
        self.refresh_bindings()
        if view is None:
            return
        answer = event.answer
        await view.finish(answer.text, answer_sources(answer), answer_meta(answer), answer_notes(answer))
        self.query_one("#conversation", VerticalScroll).scroll_end(animate=False)

    def stop_work(self) -> None:
        self.stop_answer.set()

    def worker_failed(self, worker) -> None:
        if worker.group == "answer" and self.answering is not None:
            self.answering.fail("failed (see the notification)")
            self.answering = None
            self.refresh_bindings()

    def action_stop(self) -> None:
        if self.answering is not None:
            self.stop_answer.set()

    def action_new_chat(self) -> None:
        if self.answering is not None:
            self.notify("Wait for the answer, or stop it with escape.", severity="warning")
            return
        if self.session is not None:
            self.session.reset()
        conversation = self.query_one("#conversation", VerticalScroll)
        conversation.remove_children()
        conversation.mount(Static(WELCOME, classes="welcome", markup=False))
        self.query_one("#question", Input).focus()

    @on(Button.Pressed, "#new-chat")
    def new_chat_pressed(self) -> None:
        self.action_new_chat()
