"""Versioned prompt templates stored as files (``answer/v1.md`` ...) and their strict loader.

A released template is never edited: a change is a new file (``answer/v2.md``).
"""

from __future__ import annotations

import re
import string
from importlib import resources

from pydantic import BaseModel, ConfigDict

__all__ = ["PromptError", "PromptTemplate", "load_prompt"]

_NAME = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*)/(?P<version>v[0-9]+)$")


class PromptError(ValueError):
    """A prompt template is missing, or was rendered with unknown or missing variables."""


class PromptTemplate(BaseModel):
    """A prompt template with ``$variable`` placeholders; renders only with exactly its variables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    text: str

    @property
    def variables(self) -> frozenset[str]:
        """The placeholder names the template uses."""
        return frozenset(string.Template(self.text).get_identifiers())

    def render(self, **values: str) -> str:
        """The template with every placeholder filled.

        Raises ``PromptError`` when a variable is missing or one is given that the template lacks.
        """
        given = frozenset(values)
        missing = self.variables - given
        unknown = given - self.variables
        if missing or unknown:
            raise PromptError(
                f"prompt {self.name}/{self.version}: missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        return string.Template(self.text).substitute(values)


def load_prompt(ref: str) -> PromptTemplate:
    """Load ``name/vN`` (e.g. ``answer/v1``) from the templates shipped in this package."""
    match = _NAME.match(ref)
    if not match:
        raise PromptError(f"invalid prompt reference {ref!r}: expected 'name/vN'")
    name, version = match.group("name"), match.group("version")
    path = resources.files(__name__).joinpath(name, f"{version}.md")
    if not path.is_file():
        raise PromptError(f"no prompt template {ref!r}")
    return PromptTemplate(name=name, version=version, text=path.read_text(encoding="utf-8"))
