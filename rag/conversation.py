"""Follow-up questions: a conversation checked at the edge, and its last question made standalone.

A follow-up ("and for part-timers?") means little on its own. With a model configured, the
versioned condense prompt (``prompts/condense/v1.md``) asks it to rewrite the question so it
stands alone; without one, the follow-up is searched together with the previous question.
Either way the assistant searches (and answers) the standalone question, and records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from prompts import PromptTemplate
from rag.errors import ConversationTooLong, ConversationWithoutQuestion, ModelUnavailable
from rag.text_input import strip_controls

if TYPE_CHECKING:
    import openai

__all__ = [
    "CombiningCondenser",
    "Condenser",
    "ConversationLimits",
    "ModelCondenser",
    "Turn",
    "clean_turns",
    "split_conversation",
]

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of a conversation: who said it and what (control characters removed)."""

    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class ConversationLimits:
    """How big a conversation may be: all its messages' characters, and how many messages."""

    max_chars: int = 12000
    max_messages: int = 40

    def check(self, turns: Sequence[Turn]) -> None:
        """Raise ``ConversationTooLong`` when ``turns`` exceed either limit."""
        if len(turns) > self.max_messages:
            raise ConversationTooLong(f"the conversation has {len(turns)} messages; the limit is {self.max_messages}")
        size = sum(len(t.text) for t in turns)
        if size > self.max_chars:
            raise ConversationTooLong(f"the conversation has {size} characters; the limit is {self.max_chars}")


def split_conversation(turns: Sequence[Turn], limits: ConversationLimits) -> tuple[str, list[Turn]]:
    """The question to answer (the last user turn) and the turns before it.

    Raises ``ConversationTooLong`` over ``limits`` and ``ConversationWithoutQuestion`` when no
    turn is a user's (only assistant turns, or none). Turns after the last user turn are dropped.
    """
    limits.check(turns)
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].role == "user":
            return turns[i].text, list(turns[:i])
    raise ConversationWithoutQuestion("the conversation has no user message to answer")


def clean_turns(turns: Sequence[tuple[str, str]]) -> list[Turn]:
    """``(role, text)`` pairs as turns: user and assistant roles kept, others (system, tool) dropped."""
    out: list[Turn] = []
    for role, text in turns:
        if role == "user" or role == "assistant":
            out.append(Turn("user" if role == "user" else "assistant", strip_controls(text).strip()))
    return out


class Condenser(Protocol):
    """Makes the last question of a conversation standalone."""

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """``question`` rewritten to stand on its own; ``question`` itself when ``history`` is empty."""
        ...


def _previous_question(history: Sequence[Turn]) -> str | None:
    for turn in reversed(history):
        if turn.role == "user" and turn.text:
            return turn.text
    return None


class CombiningCondenser:
    """Without a model: the follow-up is searched together with the previous user question."""

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """``"<previous question> <question>"``, or ``question`` when no earlier user turn exists (or it
        was the same question)."""
        previous = _previous_question(history)
        return f"{previous} {question}" if previous and previous != question else question


class ModelCondenser:
    """With a model: the condense prompt asks it for one standalone question.

    Only the last ``max_turns`` turns are sent. A reply that is empty or far longer than the
    conversation is not trusted: the follow-up is then combined with the previous question as
    without a model. An unreachable model raises ``ModelUnavailable`` (as answering would).
    """

    def __init__(
        self, client: openai.OpenAI, model: str, prompt: PromptTemplate, *, max_turns: int = 6, max_tokens: int = 120
    ) -> None:
        self._client = client
        self._model = model
        self._prompt = prompt
        self._max_turns = max_turns
        self._max_tokens = max_tokens
        self._fallback = CombiningCondenser()

    @property
    def prompt(self) -> PromptTemplate:
        return self._prompt

    def render(self, question: str, history: Sequence[Turn]) -> str:
        """The condense prompt for ``question`` after ``history``."""
        recent = list(history)[-self._max_turns :]
        conversation = "\n".join(f"{'Employee' if t.role == 'user' else 'Assistant'}: {t.text}" for t in recent)
        return self._prompt.render(conversation=conversation, question=question)

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        import openai

        if not history:
            return question
        try:
            completion = self._client.chat.completions.create(
                model=self._model,
                messages=[{"role": "user", "content": self.render(question, history)}],
                temperature=0.0,
                max_tokens=self._max_tokens,
                stream=False,
            )
        except openai.APIError as exc:
            raise ModelUnavailable(
                f"the model {self._model!r} could not make the follow-up standalone ({type(exc).__name__})"
            ) from exc
        text = completion.choices[0].message.content if completion.choices else None
        rewritten = " ".join((text or "").split()).strip().strip('"')
        limit = 2 * (len(question) + sum(len(t.text) for t in history[-self._max_turns :])) + 200
        if not rewritten or len(rewritten) > limit:
            return self._fallback.standalone(question, history)
        return rewritten
