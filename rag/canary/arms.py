"""Which arm of a canary answered a question: the one function that reads it from an answer record.

An arm is ``live`` (the index's own alias answered) or ``canary`` (the alias ``<index>:canary``
answered). A pinned answer (``policies@3``, alias null) and an as-of answer belong to no arm: they
are not traffic the alias split.
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
    """The arm that answered: its index, which arm, and the version it names."""

    index: str
    arm: Arm
    version: int


def arm_of(record: AnswerRecord | Mapping[str, Any]) -> ArmOf | None:
    """The arm an answer record (the model, or its stored JSON form) was served by; None for none.

    Reads only the record's ``index`` part (``name``, ``alias``, ``version``, ``as_of``).
    """
    name: Any
    version: Any
    if isinstance(record, AnswerRecord):
        ix = record.index
        name, alias, version, as_of = ix.name, ix.alias, ix.version, ix.as_of
    else:
        index = record.get("index") or {}
        name, alias, version, as_of = index.get("name"), index.get("alias"), index.get("version"), index.get("as_of")
    if as_of is not None or not isinstance(name, str) or not isinstance(version, int):
        return None
    if alias == name:
        return ArmOf(name, "live", version)
    if alias == canary_alias(name):
        return ArmOf(name, "canary", version)
    return None
