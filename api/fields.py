"""Field types of the public API that refuse what no backend can store, at the edge (422).

- :data:`MAX_VERSION`: the largest version number a metadata database column holds (PostgreSQL's
  ``integer``); larger numbers are refused as input, never passed on to a query.
- :data:`Question` and :data:`FreeText`: control characters are removed first (see
  :mod:`rag.text_input`), and a question's surrounding spaces too, so a question of control
  characters or spaces only is empty (``question_empty``).
- :data:`Name`: a name or path that holds a control character is refused.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator, Field

from rag.text_input import control_characters, strip_controls

__all__ = ["MAX_VERSION", "AsOf", "FreeText", "Name", "Question", "VersionNumber", "VersionPath", "check_name"]

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


def _question(value: Any) -> Any:
    return strip_controls(value).strip() if isinstance(value, str) else value


Question = Annotated[str, BeforeValidator(_question)]
"""A question: control characters and surrounding spaces are removed before its length is checked,
so a blank one is empty (``question_empty``), as an empty one is."""

Name = Annotated[str, AfterValidator(check_name)]
"""A name, owner, folder or id: refused (422) when it holds a control character."""

VersionNumber = Annotated[int, Field(ge=1, le=MAX_VERSION, description="A version number (1 to 2147483647).")]
"""A version number in a request body or query."""

VersionPath = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A version number (1 to 2147483647).")]
"""A version number in a route's path."""

AsOf = Annotated[
    str,
    AfterValidator(check_name),
    Field(
        min_length=1,
        max_length=64,
        description="Answer from the version that was live at this moment: an ISO date (`2026-03-01`, the end "
        "of that day in UTC) or date-time (`2026-03-01T09:30:00+01:00`; without an offset: UTC). Before the first "
        "promotion: 404 `no_version_live_then`; a version dropped by retention: 410 `version_dropped`; not ISO "
        "or in the future: 422 `invalid_as_of`. A canary never answers as-of questions.",
        examples=["2026-03-01", "2026-03-01T09:30:00+01:00"],
    ),
]
"""The ``as_of`` of a question (parsed by :mod:`rag.as_of`, which gives the 422 for a bad one)."""
