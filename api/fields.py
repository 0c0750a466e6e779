"""Field types of the public API that refuse what no backend can store, at the edge (422).

- :data:`MAX_VERSION`: the largest version number a metadata database column holds (PostgreSQL's
  ``integer``); larger numbers are refused as input, never passed on to a query.
- :data:`Question` and :data:`FreeText`: control characters are removed first (see
  :mod:`rag.text_input`), so a question of control characters only is empty (``question_empty``).
- :data:`Name`: a name or path that holds a control character is refused.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator, Field

from rag.text_input import control_characters, strip_controls

__all__ = ["MAX_VERSION", "FreeText", "Name", "Question", "VersionNumber", "VersionPath", "check_name"]

MAX_VERSION = 2**31 - 1
"""The largest version number: versions are ``integer`` columns (32 bits on PostgreSQL)."""


def _stripped(value: Any) -> Any:
    return strip_controls(value) if isinstance(value, str) else value


def check_name(value: str) -> str:
    """``value`` unchanged; ``ValueError`` naming the control characters it holds, if any."""
    found = control_characters(value)
    if found:
        raise ValueError(f"control characters are not allowed ({', '.join(found)})")
    return value


FreeText = Annotated[str, BeforeValidator(_stripped)]
"""Free text (a comment, a chat message): control characters are removed."""

Question = FreeText
"""A question: control characters are removed before its length is checked."""

Name = Annotated[str, AfterValidator(check_name)]
"""A name, owner, folder or id: refused (422) when it holds a control character."""

VersionNumber = Annotated[int, Field(ge=1, le=MAX_VERSION, description="A version number (1 to 2147483647).")]
"""A version number in a request body or query."""

VersionPath = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A version number (1 to 2147483647).")]
"""A version number in a route's path."""
