"""Where the documents of a build come from: folders, Git repositories, S3 buckets, behind one ``Source``.

``discover`` and ``SourceFile`` are the file-level form the builder reads; ``Source`` is the small
interface every kind of source implements (``ingest.sources.base``).
"""

from __future__ import annotations

from ingest.sources.base import Collected, Snapshot, Source, SourceDocument
from ingest.sources.discovery import SourceFile, discover

__all__ = ["Collected", "Snapshot", "Source", "SourceDocument", "SourceFile", "discover"]
