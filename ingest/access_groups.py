"""Which access groups a document belongs to: its own ``access_groups``, else its folder's, else the default.

A document names its groups in its front matter (``access_groups: [hr, finance]``) or in the
metadata of its upload; otherwise the longest matching folder prefix of the ``folder_access_groups``
setting decides (``{"hr/": ["hr"]}``), otherwise the default group (``everyone``), which every key
is in. The resolved groups are stored in the document's metadata under ``access_groups`` (so the
manifest shows them, and a change of groups changes the document for incremental builds) and on
every chunk's payload under ``groups`` (so searches filter by them inside the engine).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.errors import InvalidInput

__all__ = ["ALL", "GROUPS_KEY", "AccessDefaults", "check_groups", "groups_of_entry", "is_group_name", "parse_groups"]

GROUPS_KEY = "access_groups"
"""The metadata key (front matter, upload metadata, manifest) holding a document's groups."""

ALL = "*"
"""In a caller's groups: every access group (``rag.access`` also uses it for every index)."""

_GROUP = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def is_group_name(name: str) -> bool:
    """Whether ``name`` is a well-formed access group name (lower-case a-z, 0-9, ``_ . -``; 1-64)."""
    return _GROUP.fullmatch(name) is not None


def check_groups(groups: Iterable[str], *, allow_all: bool = False) -> list[str]:
    """The access groups sorted and de-duplicated; ``InvalidInput`` for a malformed name.

    Group names are lower-case letters, digits, ``_ . -`` (1-64 characters); ``*`` (every group)
    only where ``allow_all``.
    """
    if isinstance(groups, str):
        raise InvalidInput("access groups must be a list of names, not one string")
    out: set[str] = set()
    for g in groups:
        if not isinstance(g, str):
            raise InvalidInput(f"invalid access group {g!r}: must be a string")
        name = g.strip().lower()
        if name == ALL and allow_all:
            out.add(ALL)
        elif not is_group_name(name):
            raise InvalidInput(f"invalid access group {g!r}: use a-z, 0-9, '_', '.', '-' (at most 64)")
        else:
            out.add(name)
    return sorted(out)


def parse_groups(value: Any) -> list[str]:
    """Groups from a metadata value: a list of names or one comma-separated string.

    Raises ``InvalidInput`` for anything else, for a malformed name, and for an empty list (a
    document in no group could be seen by nobody; leave the field out to get the default).
    """
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{GROUPS_KEY} must be a list of group names")
    groups = check_groups(value)
    if not groups:
        raise InvalidInput(f"{GROUPS_KEY} is empty; leave it out to use the default group")
    return groups


def groups_of_entry(metadata: Mapping[str, Any], default_group: str) -> list[str]:
    """The groups recorded in a built document's metadata (versions built before groups: the default)."""
    value = metadata.get(GROUPS_KEY)
    if isinstance(value, list) and value:
        return [str(g) for g in value]
    return [default_group]


@dataclass(frozen=True, slots=True)
class AccessDefaults:
    """The default group and the per-folder defaults of the ``folder_access_groups`` setting."""

    default_group: str = "everyone"
    folders: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_groups([self.default_group])
        for prefix, groups in self.folders.items():
            if not prefix:
                raise ValueError("folder_access_groups: an empty folder prefix would match every document")
            parse_groups(list(groups))

    def for_document(self, source: str, metadata: Mapping[str, Any]) -> list[str]:
        """The groups of the document cited as ``source`` with ``metadata``; ``InvalidInput`` if malformed."""
        if metadata.get(GROUPS_KEY) is not None:
            return parse_groups(metadata[GROUPS_KEY])
        best = ""
        for prefix in self.folders:
            if source.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        if best:
            return parse_groups(list(self.folders[best]))
        return [self.default_group]
