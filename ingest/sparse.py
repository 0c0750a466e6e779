"""BM25 sparse vectors from Qdrant's own tokenizer and stemmer (``qdrant_edge.Bm25``), for both engines."""

from __future__ import annotations

import qdrant_edge

from indexes.manifest import SparseSpec
from indexes.types import SparseVector

__all__ = ["SparseEncoder"]


class SparseEncoder:
    """Term-frequency document vectors and unit-weight query vectors; Qdrant applies IDF at search.

    ``avg_len`` is the average document length in words the BM25 length normalization assumes;
    builds set it from the chunks they write and record it in the manifest.
    """

    def __init__(self, k: float = 1.2, b: float = 0.75, avg_len: float = 256.0) -> None:
        self.spec = SparseSpec(k=k, b=b, avg_len=avg_len)
        self._bm25 = qdrant_edge.Bm25(qdrant_edge.Bm25Config(k=k, b=b, avg_len=avg_len, language="english"))

    @classmethod
    def from_spec(cls, spec: SparseSpec) -> SparseEncoder:
        """The encoder a manifest describes."""
        return cls(k=spec.k, b=spec.b, avg_len=spec.avg_len)

    def encode_document(self, text: str) -> SparseVector:
        """BM25 term weights of a document (chunk) text."""
        vec = self._bm25.embed_document(text)
        return SparseVector(indices=list(vec.indices), values=list(vec.values))

    def encode_query(self, text: str) -> SparseVector:
        """The query's distinct terms, each with weight 1."""
        vec = self._bm25.embed_query(text)
        return SparseVector(indices=list(vec.indices), values=list(vec.values))
