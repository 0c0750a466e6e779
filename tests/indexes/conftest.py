"""Fixtures for the engine contract tests: both engines, a SQLite alias store and a small corpus."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
import qdrant_edge
from qdrant_client import QdrantClient

from indexes.catalog import Catalog
from indexes.edge_engine import EdgeEngine
from indexes.engine import VectorEngine
from indexes.server_engine import QdrantServerEngine
from indexes.types import ChunkRecord, IndexPoint, SparseVector

DIM = 8

# doc id -> chunk texts. "zebra" occurs in exactly one chunk (doc-b, ordinal 3).
CORPUS_TEXTS: dict[str, list[str]] = {
    "doc-a": [
        "Employees accrue vacation days every month of the year.",
        "Vacation requests need manager approval two weeks ahead.",
        "Unused vacation carries over, up to five vacation days.",
        "Public holidays follow the local office calendar.",
    ],
    "doc-b": [
        "Expenses are reimbursed within thirty days of the claim.",
        "Receipts must be attached to every expense claim.",
        "Travel is booked through the company travel portal.",
        "The zebra crossing in front of the office is the safest route.",
    ],
    "doc-c": [
        "Laptops are encrypted and lock after five idle minutes.",
        "Passwords rotate every ninety days.",
        "Report phishing emails and lost passwords to the security team.",
        "Visitors sign in at the reception desk.",
    ],
}

# qdrant-client's local mode ignores payload indexes and says so with a UserWarning; that
# limitation of the test double is expected, and warnings are errors in this test suite.
_LOCAL_MODE_WARNING = "ignore:Payload indexes have no effect:UserWarning"


class SqliteAliasStore:
    """A minimal ``AliasStore`` on the stdlib sqlite3: one UPSERT statement per ``set``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        with closing(sqlite3.connect(path)) as db, db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS aliases "
                "(alias TEXT PRIMARY KEY, index_name TEXT NOT NULL, version INTEGER NOT NULL)"
            )

    def get(self, alias: str) -> tuple[str, int] | None:
        with closing(sqlite3.connect(self._path)) as db:
            row = db.execute("SELECT index_name, version FROM aliases WHERE alias = ?", (alias,)).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def set(self, alias: str, index: str, version: int) -> None:
        with closing(sqlite3.connect(self._path)) as db, db:
            db.execute(
                "INSERT INTO aliases (alias, index_name, version) VALUES (?, ?, ?) "
                "ON CONFLICT (alias) DO UPDATE SET index_name = excluded.index_name, "
                "version = excluded.version",
                (alias, index, version),
            )

    def delete(self, alias: str) -> None:
        with closing(sqlite3.connect(self._path)) as db, db:
            db.execute("DELETE FROM aliases WHERE alias = ?", (alias,))


@pytest.fixture(scope="session")
def bm25() -> qdrant_edge.Bm25:
    """Qdrant's in-process BM25 (tokenizer and stemmer), as the ingest pipeline uses it."""
    return qdrant_edge.Bm25()


def unit(vector: np.ndarray) -> list[float]:
    """``vector`` scaled to length 1, as a list (what a cosine collection stores)."""
    return [float(x) for x in vector / np.linalg.norm(vector)]


def sparse_doc(bm25: qdrant_edge.Bm25, text: str) -> SparseVector:
    vec = bm25.embed_document(text)
    return SparseVector(indices=list(vec.indices), values=list(vec.values))


def sparse_query(bm25: qdrant_edge.Bm25, text: str) -> SparseVector:
    vec = bm25.embed_query(text)
    return SparseVector(indices=list(vec.indices), values=list(vec.values))


def make_point(bm25: qdrant_edge.Bm25, doc_id: str, ordinal: int, text: str, dense: list[float]) -> IndexPoint:
    chunk = ChunkRecord(
        chunk_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"test://{doc_id}/{ordinal}")),
        doc_id=doc_id,
        title=doc_id.upper(),
        heading_path=[doc_id, f"section {ordinal}"],
        page=None if ordinal % 2 else ordinal + 1,
        start=ordinal * 100,
        end=ordinal * 100 + len(text),
        text=text,
        token_count=len(text.split()),
        content_hash=f"hash-{doc_id}-{ordinal}",
        source=f"{doc_id}.md",
        ordinal=ordinal,
        metadata={"lang": "en", "tags": ["policy", doc_id]},
    )
    return IndexPoint(chunk=chunk, dense=dense, sparse=sparse_doc(bm25, text))


@pytest.fixture(scope="session")
def corpus(bm25: qdrant_edge.Bm25) -> list[IndexPoint]:
    """12 chunks in 3 documents with deterministic unit-length dense vectors (dim 8)."""
    rng = np.random.default_rng(7)
    return [
        make_point(bm25, doc_id, ordinal, text, unit(rng.normal(size=DIM)))
        for doc_id, texts in CORPUS_TEXTS.items()
        for ordinal, text in enumerate(texts)
    ]


@pytest.fixture
def alias_store(tmp_path: Path) -> SqliteAliasStore:
    return SqliteAliasStore(tmp_path / "aliases.sqlite3")


@pytest.fixture
def make_edge(tmp_path: Path, alias_store: SqliteAliasStore) -> Iterator[Callable[[], EdgeEngine]]:
    """Builds Edge engines over one root and one alias store; closes them all at teardown."""
    engines: list[EdgeEngine] = []

    def make() -> EdgeEngine:
        engine = EdgeEngine(tmp_path / "edge", alias_store)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


@pytest.fixture
def qdrant_client() -> Iterator[QdrantClient]:
    """qdrant-client's in-memory local mode: the server API without a server."""
    client = QdrantClient(":memory:")
    yield client
    client.close()


@pytest.fixture(
    params=[
        pytest.param("edge"),
        pytest.param("qdrant", marks=pytest.mark.filterwarnings(_LOCAL_MODE_WARNING)),
    ]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path, alias_store: SqliteAliasStore) -> Iterator[VectorEngine]:
    """Each engine in turn: Edge in a temporary directory, the server engine over local mode."""
    built: VectorEngine
    if request.param == "edge":
        built = EdgeEngine(tmp_path / "edge", alias_store)
        yield built
        built.close()
    else:
        built = QdrantServerEngine(QdrantClient(":memory:"), prefix="test_")
        yield built
        built.close()  # closes the client too


@pytest.fixture
def catalog() -> Iterator[Catalog]:
    """A fresh in-memory SQLite catalog."""
    built = Catalog.from_url("sqlite://")
    yield built
    built.close()
