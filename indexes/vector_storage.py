"""How an engine stores the dense vectors of the versions it creates: quantization and placement.

Chosen by the settings ``vector_quantization`` and ``vectors_on_disk`` and applied when a version is
created; a version keeps what it was created with (the engine records it with the version), so
changing the settings affects the next builds only. Searches rescore with the full vectors whenever
a version holds quantized ones, so a quantized version ranks by exact cosine among its candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["RESCORE_OVERSAMPLING", "VectorStorage"]

RESCORE_OVERSAMPLING = 2.0
"""A quantized search collects this many times the wanted candidates before rescoring them exactly."""


@dataclass(frozen=True, slots=True)
class VectorStorage:
    """Storage of dense vectors in new versions.

    ``quantization="int8"``: a scalar int8 copy of every vector (a quarter of the size) is kept in
    memory and scanned by searches; the best ``RESCORE_OVERSAMPLING`` x candidates are rescored with
    the full vectors. ``on_disk``: the full vectors are read from disk on demand instead of being
    cached in memory.
    """

    quantization: Literal["none", "int8"] = "none"
    on_disk: bool = False
