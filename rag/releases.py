"""Releases as the service sees them: the settings' own spec, checking a spec, making a release from a request.

A release stores names only (``answer/v2``, the endpoint ``gpt``); this module checks that the
names exist here -- the prompt ships in ``prompts/``, the endpoint is in ``RAG_MODELS`` (or is
``default``, the ``RAG_LLM_*`` endpoint) -- before anything is stored, and never reads or
returns an endpoint's key.

    RagError
    └── InvalidInput (422)
        ├── UnknownPrompt         code unknown_prompt
        └── UnknownModelEndpoint  code unknown_model_endpoint
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from indexes.releases import AnswerSpec, ModelSpec, Release, RetrievalSpec
from indexes.versions import VersionRegistry
from prompts import PromptError, load_prompt
from rag.errors import InvalidInput
from rag.settings import ModelEndpoint, Settings

__all__ = [
    "DEFAULT_ENDPOINT",
    "UnknownModelEndpoint",
    "UnknownPrompt",
    "check_spec",
    "effective_spec",
    "endpoint",
    "new_release",
    "settings_spec",
]

DEFAULT_ENDPOINT = "default"
"""The endpoint name of ``RAG_LLM_BASE_URL`` / ``RAG_LLM_API_KEY`` (unless RAG_MODELS defines its own)."""


class UnknownPrompt(InvalidInput):
    """The release names a prompt that is not shipped in ``prompts/``."""

    code = "unknown_prompt"


class UnknownModelEndpoint(InvalidInput):
    """The release names a model endpoint the settings do not define."""

    code = "unknown_model_endpoint"


def settings_spec(settings: Settings) -> AnswerSpec:
    """What a release that follows the settings answers with, as a spec."""
    model = (
        ModelSpec(kind="openai", endpoint=DEFAULT_ENDPOINT, name=settings.llm_model)
        if settings.llm_model
        else ModelSpec(kind="extractive")
    )
    return AnswerSpec(
        prompt=settings.prompt,
        model=model,
        settings=RetrievalSpec(
            mode=settings.retrieval_mode,
            fusion=settings.fusion,
            top_k=settings.top_k,
            refusal_threshold=settings.refusal_threshold,
        ),
    )


def effective_spec(release: Release, settings: Settings) -> AnswerSpec:
    """The spec a release answers with here: its own, or the settings' when it follows them."""
    return release.spec if release.spec is not None else settings_spec(settings)


def endpoint(settings: Settings, name: str) -> ModelEndpoint:
    """The endpoint ``name`` (``default``: the RAG_LLM_* one); UnknownModelEndpoint (422) otherwise."""
    if name in settings.models:
        return settings.models[name]
    if name == DEFAULT_ENDPOINT and settings.llm_model:
        return ModelEndpoint(
            base_url=settings.llm_base_url or "https://api.openai.com/v1", api_key=settings.llm_api_key
        )
    known = sorted({*settings.models, *([DEFAULT_ENDPOINT] if settings.llm_model else [])})
    raise UnknownModelEndpoint(f"unknown model endpoint {name!r}: RAG_MODELS defines {known or 'none'}")


def check_spec(spec: AnswerSpec, settings: Settings) -> AnswerSpec:
    """``spec`` when its prompt ships here and its endpoint is configured; UnknownPrompt / UnknownModelEndpoint."""
    if not spec.prompt.startswith("answer/"):
        raise UnknownPrompt(f"{spec.prompt!r} is not an answer prompt: name one like 'answer/v2'")
    try:
        load_prompt(spec.prompt)
    except PromptError as exc:
        raise UnknownPrompt(str(exc)) from exc
    if spec.model.kind == "openai":
        assert spec.model.endpoint is not None
        endpoint(settings, spec.model.endpoint)
    return spec


def new_release(
    registry: VersionRegistry,
    settings: Settings,
    index: str,
    *,
    version: int | None = None,
    prompt: str | None = None,
    model: ModelSpec | None = None,
    retrieval: dict[str, Any] | None = None,
    actor: str | None = None,
) -> Release:
    """The release of ``index`` with the given fields and the rest copied from the live release.

    Nothing but ``version`` given: the live release's spec is kept as it is (a release that follows
    the settings makes one that follows them too). Any of ``prompt``, ``model``, ``retrieval``
    given: a pinned release whose other fields are the live release's as it answers now. An
    identical existing release is returned instead of a new one. Raises UnknownPrompt,
    UnknownModelEndpoint or InvalidInput (422), or the registry's 404/409 errors, and then stores
    nothing.
    """
    if prompt is None and model is None and not retrieval:
        return registry.release_for(index, version, actor=actor)
    live = registry.live_release(index)
    base = settings_spec(settings) if live is None else effective_spec(live, settings)
    try:
        spec = AnswerSpec(
            prompt=prompt or base.prompt,
            model=model or base.model,
            settings=RetrievalSpec.model_validate({**base.settings.model_dump(), **(retrieval or {})}),
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"invalid release settings: {problems}") from exc
    return registry.release_for(index, version, check_spec(spec, settings), actor=actor)
