"""The server's outer layer, plain ASGI: the key on every route but /health, and the body limit
counted while the body is read (a chunked body too), before any route runs. Plain ASGI, not
Starlette's BaseHTTPMiddleware: that one hides a client's hang-up from the route, so a plain
request's answer would run on for nobody."""

from __future__ import annotations

import json
import secrets

from .settings import ServeConfig

OPEN_PATHS = ("/health",)


def error_object(status: int, message: str, kind: str = "invalid_request_error") -> dict:
    """OpenAI's error object."""
    return {"error": {"message": message, "type": kind, "code": status}}


def error_body(status: int, message: str, kind: str = "invalid_request_error") -> bytes:
    return json.dumps(error_object(status, message, kind)).encode()


async def send_error(send, status: int, message: str, kind: str = "invalid_request_error",
                     headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = error_body(status, message, kind)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


class Guard:
    def __init__(self, app, serve: ServeConfig) -> None:
        self.app, self.serve = app, serve

    def _authorised(self, headers: dict[bytes, bytes]) -> bool:
        if not self.serve.api_key:
            return True
        # "Bearer" is a scheme name: any case (RFC 9110 §11.1)
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode("utf-8", "replace"),
                                                                      self.serve.api_key.encode())

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if scope["path"] not in OPEN_PATHS and not self._authorised(headers):
            return await send_error(send, 401, "missing or wrong API key: send Authorization: Bearer <key>",
                                    "authentication_error", ((b"www-authenticate", b"Bearer"),))
        limit = self.serve.max_request_bytes
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await send_error(send, 413, f"request body larger than {limit} bytes")
        read, started = 0, False

        async def counted_receive():
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    raise BodyTooLarge
            return message

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if not started:
                await send_error(send, 413, f"request body larger than {limit} bytes")


__all__ = ["BodyTooLarge", "Guard", "error_body", "error_object", "send_error"]
