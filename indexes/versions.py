"""Version lifecycle over the catalog and an engine: resolve references, promote, roll back."""

from __future__ import annotations

from dataclasses import dataclass

from indexes.catalog import Catalog, VersionInfo, VersionState
from indexes.engine import VectorEngine
from indexes.manifest import Manifest
from indexes.refs import IndexRef
from rag.errors import Conflict, IndexNotFound, VersionNotFound

__all__ = ["ResolvedVersion", "VersionRegistry"]


@dataclass(frozen=True, slots=True)
class ResolvedVersion:
    """A readable version: which index, which alias led to it (if any), and its manifest."""

    index: str
    alias: str | None
    version: int
    manifest: Manifest


class VersionRegistry:
    """The one place that turns references into versions and moves aliases.

    The live alias of an index has the index's own name. Guarantees: only versions in state
    ``ready`` are ever resolved or aliased; a promote or rollback is one atomic alias switch.
    """

    def __init__(self, catalog: Catalog, engine: VectorEngine) -> None:
        self.catalog = catalog
        self.engine = engine

    def live_version(self, index: str) -> int | None:
        """The version the index's alias names, or None before the first promotion."""
        target = self.engine.resolve_alias(index)
        return target[1] if target and target[0] == index else None

    def resolve(self, ref: IndexRef) -> ResolvedVersion:
        """The ready version a reference names; 404-style errors when there is none."""
        alias: str | None = None
        if ref.version is None:
            target = self.engine.resolve_alias(ref.name)
            if target is None:
                if self.catalog.list_versions(ref.name):
                    raise VersionNotFound(
                        f"index {ref.name!r} has no promoted version yet: promote one or ask for {ref.name}@N"
                    )
                raise IndexNotFound(f"unknown index {ref.name!r}")
            alias = ref.name
            index, version = target
        else:
            index, version = ref.name, ref.version
        info = self._ready(index, version)
        assert info.manifest is not None
        return ResolvedVersion(index=index, alias=alias, version=version, manifest=info.manifest)

    def _ready(self, index: str, version: int) -> VersionInfo:
        info = self.catalog.get_version(index, version)
        if info is None:
            if not self.catalog.list_versions(index):
                raise IndexNotFound(f"unknown index {index!r}")
            raise VersionNotFound(f"index {index!r} has no version {version}")
        if info.state != VersionState.READY or info.manifest is None:
            raise VersionNotFound(f"index {index!r} version {version} is {info.state}, not ready")
        return info

    def promote(self, index: str, version: int, *, action: str = "promote") -> int | None:
        """Point the index's alias at a ready version; returns the version it named before."""
        self._ready(index, version)
        previous = self.live_version(index)
        self.engine.set_alias(index, index, version)
        self.catalog.record_alias_event(index, index, version, previous, action)
        return previous

    def promoted_stack(self, index: str) -> list[int]:
        """Versions promoted and not rolled back, oldest first; the last one is live."""
        stack: list[int] = []
        for event in self.catalog.alias_history(index):
            if event.action == "rollback":
                if stack:
                    stack.pop()
            else:
                stack.append(event.version)
        return stack

    def rollback(self, index: str) -> tuple[int, int]:
        """Return the alias to the previously promoted version; returns (from, to).

        Raises ``Conflict`` when nothing was promoted before the live version.
        """
        live = self.live_version(index)
        if live is None:
            if not self.catalog.list_versions(index):
                raise IndexNotFound(f"unknown index {index!r}")
            raise Conflict(f"index {index!r} has no live version to roll back")
        stack = self.promoted_stack(index)
        while len(stack) >= 2:
            target = stack[-2]
            info = self.catalog.get_version(index, target)
            if info is not None and info.state == VersionState.READY:
                self.engine.set_alias(index, index, target)
                self.catalog.record_alias_event(index, index, target, live, "rollback")
                return live, target
            stack.pop(-2)
        raise Conflict(f"index {index!r} has no earlier promoted version to roll back to")
