"""A real OpenAI-protocol chat-completions server on loopback, with scripted replies, for tests."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

__all__ = ["FAKE_API_KEY", "Behaviour", "OpenAITestServer", "RecordedRequest", "split_for_streaming"]

# A recognizable fake key for clients of this server, so tests can assert it never leaks.
FAKE_API_KEY = "sk-test-DO-NOT-LEAK-7f3a9c"

_PROMPT_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What the server does with the next requests; replace it with the ``OpenAITestServer`` setters.

    ``text`` is the reply (``None`` sends ``"content": null``). ``echo_markers`` > 0 replaces it
    with a sentence citing the first that many distinct ``[n]`` markers of the prompt.
    ``status`` other than 200 answers with an OpenAI-style error body carrying ``error_message``.
    ``hang_seconds`` > 0 waits that long (or until the server stops) before answering.
    ``stream_error_after`` >= 0 breaks a stream with an error event after that many content chunks.
    ``responder``, when set, computes the reply from the whole prompt (planted answers that cite
    the prompt's sources by number).
    """

    text: str | None = "The policy allows it [1]."
    echo_markers: int = 0
    status: int = 200
    error_message: str = "scripted failure"
    hang_seconds: float = 0.0
    stream_error_after: int = -1
    responder: Callable[[str], str | None] | None = None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request to ``POST /v1/chat/completions``: its JSON body and headers (lower-case names)."""

    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream", False))

    @property
    def prompt(self) -> str:
        """All message contents joined by blank lines (the whole prompt, system and user)."""
        messages = self.body.get("messages") or []
        return "\n\n".join(str(m.get("content", "")) for m in messages)


def split_for_streaming(text: str) -> list[str]:
    """Split ``text`` into word-sized pieces whose concatenation is exactly ``text``."""
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece]


class OpenAITestServer:
    """Serves the chat-completions API on ``127.0.0.1`` at a free port, in a background thread.

    Use as a context manager (``with OpenAITestServer() as server: ... server.base_url``).
    Replies follow :attr:`behaviour`, which tests change with :meth:`reply_with`,
    :meth:`echo_markers`, :meth:`fail_with` and :meth:`hang`. Every request received is appended
    to :attr:`requests`. Stopping releases hanging requests and joins the thread.
    """

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self.port = 0

    # -- scripting -------------------------------------------------------------------------

    def reply_with(self, text: str | None) -> None:
        """Answer every request with ``text`` (``None``: a null content field)."""
        self.behaviour = Behaviour(text=text)

    def echo_markers(self, count: int = 2) -> None:
        """Answer with a sentence citing the first ``count`` distinct ``[n]`` markers of the prompt."""
        self.behaviour = Behaviour(echo_markers=count)

    def respond_with(self, responder: Callable[[str], str | None]) -> None:
        """Answer every request with ``responder(prompt)`` (the prompt as :attr:`RecordedRequest.prompt`)."""
        self.behaviour = Behaviour(responder=responder)

    def fail_with(self, status: int = 500, message: str = "scripted failure") -> None:
        """Answer every request with HTTP ``status`` and an OpenAI-style error body."""
        self.behaviour = Behaviour(status=status, error_message=message)

    def hang(self, seconds: float = 10.0) -> None:
        """Hold every request ``seconds`` (or until the server stops) before answering."""
        self.behaviour = Behaviour(hang_seconds=seconds)

    def break_stream_after(self, chunks: int, text: str = "one two three four") -> None:
        """Stream ``chunks`` content chunks of ``text``, then an error event instead of the rest."""
        self.behaviour = Behaviour(text=text, stream_error_after=chunks)

    def reset(self) -> None:
        """Back to the default behaviour, with no recorded requests."""
        self.behaviour = Behaviour()
        with self._lock:
            self._requests.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def base_url(self) -> str:
        """The URL to give ``openai.OpenAI(base_url=...)``: ``http://127.0.0.1:<port>/v1``."""
        if not self.port:
            raise RuntimeError("the server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start serving and return once the port is bound; raises ``RuntimeError`` if it is not."""
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        config = uvicorn.Config(
            self._app(),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="openai-test-server", daemon=True)
        self._release.clear()
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the OpenAI test server did not start")
            time.sleep(0.01)
        self.port = int(server.servers[0].sockets[0].getsockname()[1])

    def stop(self) -> None:
        """Release hanging requests, ask uvicorn to exit and join its thread. Idempotent."""
        self._release.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                raise RuntimeError("the OpenAI test server did not stop")
        self._server, self._thread, self.port = None, None, 0

    def __enter__(self) -> OpenAITestServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the app ---------------------------------------------------------------------------

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            body = await request.json()
            with self._lock:
                self._requests.append(RecordedRequest(body=body, headers=dict(request.headers)))
            behaviour = self.behaviour
            if behaviour.hang_seconds > 0:
                await self._wait(behaviour.hang_seconds)
            if behaviour.status != 200:
                return JSONResponse(
                    status_code=behaviour.status,
                    headers={"retry-after-ms": "10"},  # keeps the client's own retries fast
                    content={
                        "error": {
                            "message": behaviour.error_message,
                            "type": "server_error" if behaviour.status >= 500 else "invalid_request_error",
                            "param": None,
                            "code": None,
                        }
                    },
                )
            record = RecordedRequest(body=body)
            text = self._reply_text(behaviour, record.prompt)
            if record.stream:
                return StreamingResponse(
                    self._events(record.model, text, behaviour.stream_error_after),
                    media_type="text/event-stream",
                )
            return JSONResponse(content=_completion(record.model, text))

        return app

    async def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    @staticmethod
    def _reply_text(behaviour: Behaviour, prompt: str) -> str | None:
        if behaviour.responder is not None:
            return behaviour.responder(prompt)
        if behaviour.echo_markers <= 0:
            return behaviour.text
        numbers = list(dict.fromkeys(_PROMPT_MARKER.findall(prompt)))[: behaviour.echo_markers]
        cited = "".join(f"[{n}]" for n in numbers)
        return f"According to the sources {cited}." if cited else "No sources were given."

    @staticmethod
    async def _events(model: str, text: str | None, error_after: int) -> AsyncIterator[bytes]:
        for payload in _chunks(model, text, error_after):
            yield f"data: {json.dumps(payload)}\n\n".encode()
            if "error" in payload:
                return  # a broken stream ends without [DONE]
            await asyncio.sleep(0)
        yield b"data: [DONE]\n\n"


def _completion(model: str, text: str | None) -> dict[str, Any]:
    """A ``chat.completion`` object carrying ``text``."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(text),
    }


def _chunks(model: str, text: str | None, error_after: int) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a stream: role, content pieces, finish."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    yield chunk({"role": "assistant", "content": ""})
    for i, piece in enumerate(split_for_streaming(text or "")):
        if i == error_after:
            yield {"error": {"message": "scripted stream failure", "type": "server_error", "code": None}}
            return
        yield chunk({"content": piece})
    yield chunk({}, finish="stop")


def _usage(text: str | None) -> dict[str, int]:
    completion_tokens = len((text or "").split())
    return {"prompt_tokens": 0, "completion_tokens": completion_tokens, "total_tokens": completion_tokens}
