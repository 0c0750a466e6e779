"""Which arm of a canary answered a question: the one function that reads it from an answer record.

An arm is ``live`` (the index's own alias answered) or ``canary`` (the alias ``<index>:canary``
answered). Each arm is a release (its number is in the record, null for answers recorded before
releases): the canary may run the live index version with another prompt or model, so the arm is
read from the alias that answered, never from the version. A pinned answer (``policies@3``, alias
null) and an as-of answer belong to no arm: they are not traffic the alias split.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from indexes.canary import canary_alias
from rag.records import AnswerRecord

__all__ = ["ARMS", "Arm", "ArmOf", "arm_of"]

Arm = Literal["live", "canary"]
ARMS: tuple[Arm, Arm] = ("live", "canary")


@dataclass(frozen=True, slots=True)
class ArmOf:
    """The arm that answered: its index, which arm, the index version and the release it names."""

    index: str
    arm: Arm
    version: int
    release: int | None = None


def arm_of(record: AnswerRecord | Mapping[str, Any]) -> ArmOf | None:
    """The arm an answer record (the model, or its stored JSON form) was served by; None for none.

    Reads only the record's ``index`` part (``name``, ``alias``, ``version``, ``as_of``) and its ``release``.
    """
    name: Any
    version: Any
    release: Any
    if isinstance(record, AnswerRecord):
        ix = record.index
        name, alias, version, as_of, release = ix.name, ix.alias, ix.version, ix.as_of, record.release
    else:
        index = record.get("index") or {}
        name, alias, version, as_of = index.get("name"), index.get("alias"), index.get("version"), index.get("as_of")
        release = record.get("release")
    if as_of is not None or not isinstance(name, str) or not isinstance(version, int):
        return None
    number = release if isinstance(release, int) and not isinstance(release, bool) else None
    if alias == name:
        return ArmOf(name, "live", version, number)
    if alias == canary_alias(name):
        return ArmOf(name, "canary", version, number)
    return None
