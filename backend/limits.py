"""Request bodies over DATA_UPLOAD_MAX_MEMORY_SIZE are refused with 413 before they are read.

Django checks that limit only when a view reads `request.body`; DRF's parsers read the stream
instead, so without this guard a 10 MB JSON body was read, spooled and parsed in full before any
check. Here, at the ASGI level, a declared Content-Length over the limit is answered at once
without reading a byte of the body; a body without one (chunked) is read only up to the limit.
"""

import asyncio
import json

from django.conf import settings

from backend.errors import error_body

# A message the server already holds comes at once; waiting longer than this means it has none.
BUFFERED_WAIT_S = 0.01


def _content_length(scope) -> int | None:
    """The declared length, or None if none (or an unreadable one, left for the server to refuse)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send, limit: int) -> None:
    body = json.dumps(error_body("too_large", f"The request body is larger than the limit of {limit} bytes.")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # Whatever of the body the client is still sending is not read: don't reuse the connection.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """ASGI middleware for HTTP: 413 (JSON error envelope) for bodies over the limit."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.application(scope, receive, send)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await _refuse(send, limit)
                return await _discard_buffered(receive)
            # The server delivers no more than the declared length.
            return await self.application(scope, receive, send)
        # No declared length: read up to the limit, then hand on what was read.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return await self.application(scope, _replay([message], receive), send)
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await _refuse(send, limit)
                return await _discard_buffered(receive)
            if not message.get("more_body", False):
                break
        first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await self.application(scope, _replay([first], receive), send)


async def _discard_buffered(receive) -> None:
    """Drop what the server has already buffered of a refused body, without waiting for more.
    daphne reads a whole body and queues all of it before calling the application; left in the
    queue it is held until daphne reaps the request, and bodies that overlap so leave the process
    larger for good. Taking queued messages does not suspend, so this frees them before the next
    request is read; the timeout only ends the wait on a server that has not read the body."""
    try:
        async with asyncio.timeout(BUFFERED_WAIT_S):
            while True:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
    except TimeoutError:
        return


def _replay(messages: list[dict], receive):
    """A receive() giving `messages` first, then whatever the server sends next (a disconnect)."""

    async def replayed_receive():
        if messages:
            return messages.pop(0)
        return await receive()

    return replayed_receive
