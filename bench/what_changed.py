"""What-changed calls on the handbooks: two versions, 5 documents edited, through the HTTP API.

Loads every file of the handbooks (``../shared/data/handbooks``; files without text are left
out, as a build does) with the real loaders as version 1, then a temporary copy with 5 documents
edited (a sentence changed, a section added, the last section removed) as version 2. Both
versions are recorded in a SQLite catalog with their manifests and their documents' normalized
texts (what a build keeps); no vectors are built, since the what-changed routes read only
manifests, texts and the alias history. Then, through the app (``TestClient``, auth off),
``--rounds`` times each, interleaved:

- ``GET /v1/indexes/handbooks/documents/{doc}/changes?from=1&to=2`` for each edited document;
- ``GET /v1/indexes/handbooks/changes?since=...`` (the whole index).

Target: a what-changed call returns in <= 200 ms. Run: ``python bench/what_changed.py [--rounds 30]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from api.app import create_app
from bench._common import ROOT, SHARED_DATA, percentile, write_result
from indexes.catalog import Catalog
from indexes.document_texts import DocumentTexts
from indexes.manifest import ChunkerSpec, DocumentEntry, EmbedderSpec, Manifest, SparseSpec
from ingest.documents import LoadedDocument
from ingest.load_errors import LoadError
from ingest.loaders import SUPPORTED_SUFFIXES, load_document
from rag.settings import Settings

WORK = ROOT / "bench" / ".work" / "what_changed"
INDEX = "handbooks"
EDITED = 5
_HEADING = re.compile(r"^#{1,6} ", re.MULTILINE)


def _load(folder: Path) -> list[LoadedDocument]:
    docs = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            try:
                docs.append(load_document(path, path.relative_to(folder).as_posix()))
            except LoadError:
                continue  # as a build does: the file is reported and left out

    return docs


def _edit(path: Path) -> None:
    """Change one sentence, add a section and remove the last one (in the file, as an owner would)."""
    text = path.read_text()
    headings = [m.start() for m in _HEADING.finditer(text)]
    text = text[: headings[-1]]  # the last section goes
    text = re.sub(r"\b(the|The)\b", r"\1 revised", text, count=1)
    text += "\n\n## Changes in this revision\n\nThis section was added for the what-changed benchmark.\n"
    path.write_text(text)


def _manifest(version: int, docs: list[LoadedDocument]) -> Manifest:
    return Manifest(
        index=INDEX,
        version=version,
        engine="none (texts only)",
        source="handbooks",
        created_at=datetime.now(UTC),
        embedder=EmbedderSpec(model_id="not-built", dimension=384, max_seq_length=256),
        sparse=SparseSpec(k=1.2, b=0.75, avg_len=100.0),
        chunker=ChunkerSpec(max_tokens=254, overlap_tokens=32, embed_headings=True),
        documents=[
            DocumentEntry(
                doc_id=d.doc_id,
                title=d.title,
                source=d.source,
                format=d.format,
                content_hash=d.content_hash,
                chunk_count=0,
                chars=len(d.text),
                metadata=d.metadata,
            )
            for d in docs
        ],
        chunk_count=0,
        chunks_embedded=0,
    )


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 1),
        "p95": round(percentile(values, 95), 1),
        "max": round(max(values), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handbooks", type=Path, default=SHARED_DATA / "handbooks")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    copy = WORK / "handbooks-v2"
    shutil.copytree(args.handbooks, copy)
    candidates = sorted(p for p in copy.rglob("*.md") if len(_HEADING.findall(p.read_text())) >= 3)
    edited = candidates[:: max(1, len(candidates) // EDITED)][:EDITED]
    for path in edited:
        _edit(path)
    t0 = time.perf_counter()
    v1_docs, v2_docs = _load(args.handbooks), _load(copy)
    load_s = time.perf_counter() - t0
    by_source = {d.source: d for d in v2_docs}
    edited_ids = [by_source[p.relative_to(copy).as_posix()].doc_id for p in edited]

    data = WORK / "data"
    data.mkdir(parents=True)
    catalog = Catalog.from_url(f"sqlite:///{data / 'rag.sqlite3'}")
    texts = DocumentTexts(catalog.engine)
    for docs in (v1_docs, v2_docs):
        version = catalog.allocate_version(INDEX)
        texts.put((d.content_hash, d.text) for d in docs)
        catalog.mark_ready(_manifest(version, docs))
        catalog.set_alias(INDEX, INDEX, version)
        catalog.record_alias_event(INDEX, INDEX, version, version - 1 or None, "promote", "bench")
    catalog.close()

    settings = Settings(_env_file=None, data_dir=data, auth_enabled=False, worker_enabled=False)
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    per_doc: list[float] = []
    index_wide: list[float] = []
    sections: dict[str, int] = {}
    with TestClient(create_app(settings)) as client:
        for doc_id in edited_ids:  # warm-up, and what each call finds
            r = client.get(f"/v1/indexes/{INDEX}/documents/{doc_id}/changes", params={"from": 1, "to": 2})
            assert r.status_code == 200, r.text
            sections[doc_id] = len(r.json()["sections"])
        listing = client.get(f"/v1/indexes/{INDEX}/changes", params={"since": since})
        assert listing.status_code == 200, listing.text
        listed = len(listing.json()["changes"])
        for _ in range(args.rounds):
            for doc_id in edited_ids:
                t = time.perf_counter()
                r = client.get(f"/v1/indexes/{INDEX}/documents/{doc_id}/changes", params={"from": 1, "to": 2})
                per_doc.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            t = time.perf_counter()
            r = client.get(f"/v1/indexes/{INDEX}/changes", params={"since": since})
            index_wide.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
    write_result(
        "what_changed",
        {
            "documents": {"v1": len(v1_docs), "v2": len(v2_docs), "edited": edited_ids},
            "sections_changed_per_edited_document": sections,
            "documents_listed_as_changed": listed,
            "load_seconds_both_versions": round(load_s, 1),
            "document_changes_ms": _ms(per_doc),
            "index_changes_since_ms": _ms(index_wide),
            "load": f"{os.getloadavg()[0]:.2f} (1-min load average at the end), machine shared with other work",
            "target": "a what-changed call <= 200 ms",
        },
    )


if __name__ == "__main__":
    main()
