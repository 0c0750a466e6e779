"""An answerer for any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, llama.cpp)."""

from __future__ import annotations

from collections.abc import Generator
from urllib.parse import urlsplit, urlunsplit

import openai
from openai.types.chat import ChatCompletionMessageParam

from rag.answering.base import Draft, DraftCitation, Evidence, ModelInfo
from rag.answering.markers import find_markers
from rag.errors import ModelUnavailable

__all__ = ["OpenAIAnswerer"]


class OpenAIAnswerer:
    """Answers through ``client.chat.completions``; which server that is depends only on the client.

    The caller builds the client (base URL, API key, timeout, retries) and owns it; this class
    never reads settings or the environment. Every failure of the endpoint -- unreachable, timed
    out, rate limited after the client's retries, a 4xx/5xx answer, an error in the middle of a
    stream, or a reply without text -- is raised as :class:`rag.errors.ModelUnavailable`, whose
    message names the base URL (without credentials or query string) and the model, and never
    contains the API key or the server's own error text.
    """

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        *,
        temperature: float = 0.0,
        max_tokens: int = 400,
    ) -> None:
        if not model.strip():
            raise ValueError("model must name a model, got an empty string")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        self._client = client
        self._model = model
        self._temperature = temperature
        self._max_tokens = max_tokens

    @property
    def model(self) -> ModelInfo:
        """``ModelInfo(provider="openai", name=<the model name sent to the endpoint>)``."""
        return ModelInfo(provider="openai", name=self._model)

    def answer(self, evidence: Evidence, prompt: str) -> Draft:
        """Send ``prompt`` as one user message and return the reply with its ``[n]`` markers.

        ``evidence`` is not sent separately: the rendered prompt already numbers it. The draft's
        citations are the distinct markers of the reply in order of first appearance, unchecked.
        The text is returned exactly as the model wrote it. Raises ``ModelUnavailable`` on any
        endpoint failure and when the reply has no text.
        """
        try:
            completion = self._client.chat.completions.create(
                model=self._model,
                messages=self._messages(prompt),
                temperature=self._temperature,
                max_tokens=self._max_tokens,
                stream=False,
            )
        except openai.APIError as exc:
            raise self._unavailable(exc) from exc
        text = completion.choices[0].message.content if completion.choices else None
        if text is None or not text.strip():
            raise ModelUnavailable(f"{self._where()} returned no text")
        return Draft(text=text, citations=[DraftCitation(n) for n in find_markers(text)])

    def stream(self, evidence: Evidence, prompt: str) -> Generator[str, None, None]:
        """Yield the reply's non-empty content deltas as they arrive (``stream=True``).

        Joined, the pieces equal the text :meth:`answer` would return for the same reply. The
        HTTP response is closed when the generator is exhausted or closed early (``.close()``). Raises
        ``ModelUnavailable`` on any endpoint failure, including one after some pieces were
        yielded, and when the whole stream carried no text.
        """
        produced = False
        try:
            chunks = self._client.chat.completions.create(
                model=self._model,
                messages=self._messages(prompt),
                temperature=self._temperature,
                max_tokens=self._max_tokens,
                stream=True,
            )
            with chunks:
                for chunk in chunks:
                    for choice in chunk.choices:
                        piece = choice.delta.content
                        if choice.index == 0 and piece:
                            produced = produced or bool(piece.strip())
                            yield piece
        except openai.APIError as exc:
            raise self._unavailable(exc) from exc
        if not produced:
            raise ModelUnavailable(f"{self._where()} returned no text")

    @staticmethod
    def _messages(prompt: str) -> list[ChatCompletionMessageParam]:
        return [{"role": "user", "content": prompt}]

    def _where(self) -> str:
        """``the answer model 'name' at http://host:port/path/``, credentials and query removed."""
        parts = urlsplit(str(self._client.base_url))
        host = parts.netloc.rpartition("@")[2]
        url = urlunsplit((parts.scheme, host, parts.path, "", ""))
        return f"the answer model {self._model!r} at {url}"

    def _unavailable(self, exc: openai.APIError) -> ModelUnavailable:
        """Describe ``exc`` by its kind and HTTP status only; the server's text may echo the key."""
        where = self._where()
        retries = self._client.max_retries
        after = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
        if isinstance(exc, openai.APITimeoutError):
            return ModelUnavailable(f"{where} did not answer within the client timeout{after}")
        if isinstance(exc, openai.APIConnectionError):
            return ModelUnavailable(f"{where} could not be reached (connection failed{after})")
        if isinstance(exc, openai.AuthenticationError):
            return ModelUnavailable(f"{where} rejected the API key (HTTP 401); check the configured key")
        if isinstance(exc, openai.PermissionDeniedError):
            return ModelUnavailable(f"{where} refused access (HTTP 403); check the key's permissions")
        if isinstance(exc, openai.NotFoundError):
            return ModelUnavailable(f"{where} was not found (HTTP 404); check the model name and base URL")
        if isinstance(exc, openai.RateLimitError):
            return ModelUnavailable(f"{where} is rate limiting requests (HTTP 429){after}")
        if isinstance(exc, openai.InternalServerError):
            return ModelUnavailable(f"{where} failed with HTTP {exc.status_code}{after}")
        if isinstance(exc, openai.APIStatusError):
            return ModelUnavailable(f"{where} rejected the request with HTTP {exc.status_code}")
        return ModelUnavailable(f"{where} sent an invalid or error response ({type(exc).__name__})")
