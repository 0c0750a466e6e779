"""Finding the documents of a build in a source folder, and the file form every source hands the builder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.loaders import SUPPORTED_SUFFIXES
from rag.errors import SourceError

__all__ = ["SourceFile", "discover"]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to load and the name it is reported and cited by (path relative to the source).

    ``doc_id`` and ``metadata``, when set (uploads, sources), override what the file itself says.
    ``error``, when set, is why the source could not hand over the file (too large, unreadable): the
    build reports the file by that reason and goes on with the rest.
    """

    path: Path
    name: str
    doc_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def discover(root: Path) -> tuple[list[SourceFile], list[str]]:
    """Supported files under ``root`` in a stable order, and the names of files skipped.

    Hidden files and folders are ignored. Raises ``SourceError`` when ``root`` is missing, is
    not a folder, or holds no supported file.
    """
    if not root.exists():
        raise SourceError(f"source folder {root} does not exist")
    if not root.is_dir():
        raise SourceError(f"source {root} is not a folder")
    found: list[SourceFile] = []
    skipped: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            found.append(SourceFile(path=path, name=rel.as_posix()))
        else:
            skipped.append(rel.as_posix())
    if not found:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise SourceError(f"source folder {root} holds no supported documents ({kinds})")
    return found, skipped
