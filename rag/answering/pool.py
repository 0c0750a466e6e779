"""A small pool of answering profiles: one per distinct release spec, built once and reused.

A *profile* is how a release answers: its answerer (with its model client), its prompt, the
answer checker that goes with the answerer, and the retrieval settings. Building one can open an
HTTP client or load a template, so it never happens per request: the pool builds a profile the
first time a spec is asked for and hands out the same object afterwards. Specs are few (one per
distinct prompt, model and settings among an index's releases), so the pool keeps them all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexes.releases import AnswerSpec
from prompts import PromptTemplate
from rag.answering.base import Answerer

if TYPE_CHECKING:  # types only: the answerers do not depend on checking or retrieval at run time
    from rag.answer_check import AnswerChecker
    from rag.retrieval import Retriever

__all__ = ["AnswererPool", "Profile"]


@dataclass(frozen=True, slots=True)
class Profile:
    """How one release answers: answerer, prompt, checker (None: answers unchecked) and retrieval."""

    answerer: Answerer
    prompt: PromptTemplate
    retriever: Retriever
    checker: AnswerChecker | None
    top_k: int
    refusal_threshold: float
    calibrated_refusal: bool = True


class AnswererPool:
    """Profiles by spec. Guarantee: ``build`` runs at most once per distinct spec, even under concurrent calls."""

    def __init__(self, build: Callable[[AnswerSpec], Profile]) -> None:
        self._build = build
        self._profiles: dict[AnswerSpec, Profile] = {}
        self._lock = threading.Lock()

    def get(self, spec: AnswerSpec) -> Profile:
        """The profile of ``spec``, built on first use."""
        profile = self._profiles.get(spec)
        if profile is not None:
            return profile
        with self._lock:
            profile = self._profiles.get(spec)
            if profile is None:
                profile = self._profiles[spec] = self._build(spec)
            return profile

    def __len__(self) -> int:
        return len(self._profiles)
