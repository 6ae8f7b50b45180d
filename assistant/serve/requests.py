"""Request bodies as OpenAI documents them, checked by one schema (pydantic) before anything else
happens: a bad request gets one line saying what is wrong (an OpenAI-shaped 400), before a queue
slot is taken and before a stream starts.

    request = read_chat(b'{"model": "rag:handbook", "messages": [{"role": "user", "content": "Hi"}]}', max_tokens=1024)
    request.conversation()                                  # ('Hi', [], None)
"""

from __future__ import annotations

import json
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator

from core.errors import ConfigError
from lm.prompts import Turn


class BadRequest(ConfigError):
    """A request the server cannot take: answered 400 with this message."""


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: StrictStr


class OtherPart(BaseModel):
    """A part of another type (an image, audio): named in the error."""

    model_config = ConfigDict(extra="ignore")
    type: StrictStr


def _utf8(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text holds a lone surrogate (\\ud800-\\udfff): send valid UTF-8") from None
    return text


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Union[StrictStr, list[Union[TextPart, OtherPart]], None] = None

    @field_validator("content")
    @classmethod
    def _text_only(cls, content):
        if isinstance(content, list):
            for part in content:
                if not isinstance(part, TextPart):
                    raise ValueError(f"content part of type {part.type!r} is not supported: send text parts")
            content = "\n".join(part.text for part in content)
        return _utf8(content) if isinstance(content, str) else content


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: StrictBool = False


class ChatRequest(BaseModel):
    """POST /v1/chat/completions; fields a client may send that the server has no use for are ignored."""

    model_config = ConfigDict(extra="ignore")
    model: Annotated[StrictStr, Field(max_length=300)] = "base"
    messages: Annotated[list[Message], Field(min_length=1, max_length=1000)]
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0, allow_inf_nan=False)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] | None = None
    n: Annotated[StrictInt, Field(ge=1, le=1)] | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None

    def conversation(self) -> tuple[str, list[Turn], str | None]:
        """(question, earlier turns, system prompt): the last message is the user's question;
        `developer` messages are system messages, as OpenAI's newer models name them."""
        system = [m.content for m in self.messages if m.role in ("system", "developer") and m.content]
        talk = [m for m in self.messages if m.role in ("user", "assistant")]
        if not talk or talk[-1].role != "user" or not (talk[-1].content or "").strip():
            raise BadRequest("the last message must be the user's question, as text")
        turns, asked = [], None
        for message in talk[:-1]:
            if message.role == "user":
                asked = message.content or ""
            elif asked is not None:
                turns.append(Turn(asked, message.content or ""))
                asked = None
        return talk[-1].content, turns, ("\n".join(system) or None)


class TokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    content: StrictStr

    @field_validator("content")
    @classmethod
    def _valid(cls, content: str) -> str:
        return _utf8(content)


def _problem(err: ValidationError) -> str:
    """A pydantic error as one line a client can act on: 'messages.0.role: Input should be …'."""
    errors = err.errors(include_url=False, include_context=False, include_input=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"] if not str(part).startswith(("function-", "union[")))
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where or 'body'}: {message}{more}"


def _json(raw: bytes):
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as err:
        detail = f" at line {err.lineno}, column {err.colno}" if isinstance(err, json.JSONDecodeError) else ""
        raise BadRequest(f"the body is not valid JSON{detail}: send a JSON object") from None


def read_chat(raw: bytes, max_tokens: int) -> ChatRequest:
    """The checked body of a chat request; BadRequest says what is wrong."""
    body = _json(raw)
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object like {"model": "base", "messages": [...]}')
    try:
        request = ChatRequest.model_validate(body)
    except ValidationError as err:
        raise BadRequest(_problem(err)) from None
    wanted = request.max_tokens or request.max_completion_tokens
    if wanted is not None and wanted > max_tokens:
        raise BadRequest(f"max_tokens: this server answers with at most {max_tokens} tokens")
    return request


def read_tokenize(raw: bytes, max_chars: int) -> TokenizeRequest:
    body = _json(raw)
    try:
        request = TokenizeRequest.model_validate(body)
    except ValidationError as err:
        raise BadRequest(_problem(err) if isinstance(body, dict) else 'send {"content": "text"}') from None
    if len(request.content) > max_chars:
        raise BadRequest(f"content: at most {max_chars} characters")
    return request


def conversation(messages) -> tuple[str, list[Turn], str | None]:
    """OpenAI messages → (question, earlier turns, system prompt); the last message is the question.

    >>> conversation([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    ('Hi', [], None)
    """
    try:
        checked = ChatRequest.model_validate({"messages": messages})
    except ValidationError as err:
        raise BadRequest(_problem(err)) from None
    return checked.conversation()


__all__ = ["BadRequest", "ChatRequest", "TokenizeRequest", "conversation", "read_chat", "read_tokenize"]
