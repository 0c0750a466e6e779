"""Version lifecycle over the catalog and an engine: resolve references, promote, roll back, canary."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from indexes.canary import CANARY_ACTIONS, Canary, CanaryStore, check_share
from indexes.catalog import Catalog, VersionInfo, VersionState
from indexes.engine import VectorEngine
from indexes.errors import AlreadyLive, ShardBusy, StorageDamaged
from indexes.faultpoints import pause_point
from indexes.health import StorageHealth, storage_missing
from indexes.live_history import LiveSpan, VersionDropped, live_at
from indexes.manifest import Manifest
from indexes.purge import check_not_purged
from indexes.refs import IndexRef
from rag.errors import Conflict, IndexNotFound, InvalidInput, VersionNotFound

__all__ = ["Draw", "ResolvedVersion", "VersionRegistry"]

Draw = Callable[[], float]
"""A source of uniform random numbers in ``[0, 1)``; decides which requests the canary answers."""


@dataclass(frozen=True, slots=True)
class ResolvedVersion:
    """A readable version: which index, which alias led to it (if any), and its manifest.

    ``alias`` is the index name for the live alias, ``<index>:canary`` when the canary answered,
    and None for a pinned version.
    """

    index: str
    alias: str | None
    version: int
    manifest: Manifest


class VersionRegistry:
    """The one place that turns references into versions and moves aliases.

    The live alias of an index has the index's own name. Guarantees: only versions in state
    ``ready`` are ever resolved or aliased (never ``dropped`` or ``failed`` ones); a promote or
    rollback is one atomic alias switch. With a canary of share ``s``, a reference that names no
    version resolves to the canary when ``draw() < s`` (so a share of ``s`` of such requests),
    else to the live version; a pinned reference is never redirected. When the live alias comes to
    name the canary's version (promote or rollback), the canary is removed: it has nothing left
    to test.

    ``draw`` is the test seam for the canary's coin: a callable returning uniform floats in
    ``[0, 1)``; by default a private ``random.Random``.

    Storage: a promote or rollback first searches the target version (:attr:`health`) and refuses
    (StorageDamaged / StorageMissing, status 409) when that fails, unless another process holds
    the shard open (ShardBusy: it is being served, so it opened). Promoting the live version
    changes nothing and says so (AlreadyLive, 409); a rollback always moves the alias to another
    version or raises Conflict saying why it cannot. A live or pinned version whose storage is
    gone resolves to StorageMissing ("storage of policies@2 is missing at <path>"), never to
    "no promoted version" or "does not exist".
    """

    def __init__(self, catalog: Catalog, engine: VectorEngine, *, draw: Draw | None = None) -> None:
        self.catalog = catalog
        self.engine = engine
        self.canaries = CanaryStore(catalog, engine)
        self._draw: Draw = draw or random.Random().random
        # Manifests of ready versions, read once: the fields queries use (embedder, sparse settings)
        # never change for a version; its state is still checked on every resolve.
        self._manifests: dict[tuple[str, int], Manifest] = {}
        self._lock = threading.Lock()
        self.health = StorageHealth(engine)

    def live_version(self, index: str) -> int | None:
        """The version the index's alias names, or None before the first promotion."""
        target = self.engine.resolve_alias(index)
        return target[1] if target and target[0] == index else None

    def expected_live(self, index: str) -> int | None:
        """The version the index's alias was last switched to (alias history), even if its storage is gone."""
        for event in reversed(self.catalog.alias_history(index)):
            if event.action not in CANARY_ACTIONS:
                return event.version
        return None

    def check_live(self, index: str) -> int | None:
        """The live version after a (cached) probe of its storage; None before the first promotion.

        Raises StorageMissing or StorageDamaged (503) when the live version cannot answer.
        """
        live = self.live_version(index)
        if live is None:
            self._raise_if_live_missing(index)
            return None
        manifest = self._ready_manifest(index, live)
        with contextlib.suppress(ShardBusy):  # another process serves it, so it opened there
            self.health.check(index, live, manifest.embedder.dimension)
        return live

    def damage(self, info: VersionInfo) -> StorageDamaged | None:
        """What is known to be wrong with a ready version's storage (missing, failed probe), without opening it."""
        if info.state != VersionState.READY:
            return None
        return self.health.known_damage(info.index, info.version)

    def _raise_if_live_missing(self, index: str) -> None:
        """StorageMissing when the alias names a ready version whose storage is gone."""
        expected = self.expected_live(index)
        if (
            expected is not None
            and self.catalog.version_state(index, expected) == VersionState.READY
            and not self.engine.has_version(index, expected)
        ):
            raise storage_missing(self.engine, index, expected)

    def resolve(self, ref: IndexRef) -> ResolvedVersion:
        """The ready version a reference names; 404-style errors when there is none.

        Without a version, the canary (if any) answers a ``share`` of calls, the live alias the rest.
        """
        alias: str | None = None
        if ref.version is None:
            canary = self._canary_draw(ref.name)
            if canary is not None:
                return canary
            target = self.engine.resolve_alias(ref.name)
            if target is None:
                self._raise_if_live_missing(ref.name)
                if self.catalog.list_versions(ref.name):
                    raise VersionNotFound(
                        f"index {ref.name!r} has no promoted version yet: promote one or ask for {ref.name}@N"
                    )
                raise IndexNotFound(f"unknown index {ref.name!r}")
            alias = ref.name
            index, version = target
        else:
            index, version = ref.name, ref.version
        manifest = self._ready_manifest(index, version)
        if ref.version is not None and not self.engine.has_version(index, version):
            raise storage_missing(self.engine, index, version)
        return ResolvedVersion(index=index, alias=alias, version=version, manifest=manifest)

    def resolve_as_of(self, ref: IndexRef, moment: datetime) -> tuple[ResolvedVersion, LiveSpan]:
        """The version that was live at ``moment`` (aware) per the alias history, with its live span.

        Never the canary, whatever its share. Raises InvalidInput for a reference pinning a version
        (a pinned version and a moment exclude each other), IndexNotFound, NoVersionLiveThen (404)
        before the first promotion, VersionDropped (410, naming when) for a version retention
        dropped, and StorageMissing when its storage is gone otherwise.
        """
        if ref.version is not None:
            raise InvalidInput(f"as_of and a pinned version ({ref}) exclude each other: ask {ref.name} as of a moment")
        span = live_at(self.catalog, ref.name, moment)
        state = self.catalog.version_state(ref.name, span.version)
        if state == VersionState.DROPPED:
            raise VersionDropped(ref.name, span.version, self.catalog.dropped_at(ref.name, span.version))
        with self._lock:
            cached = self._manifests.get((ref.name, span.version))
        # the state was read just above: a cached manifest of a ready version needs no second read
        manifest = (
            cached
            if cached is not None and state == VersionState.READY
            else self._ready_manifest(ref.name, span.version)
        )
        if not self.engine.has_version(ref.name, span.version):
            raise storage_missing(self.engine, ref.name, span.version)
        return ResolvedVersion(index=ref.name, alias=ref.name, version=span.version, manifest=manifest), span

    def _canary_draw(self, index: str) -> ResolvedVersion | None:
        """The canary version when the index has a ready canary and the draw picks it, else None."""
        canary = self.canaries.get(index)
        if canary is None or self._draw() >= canary.share:
            return None
        if self.catalog.version_state(index, canary.version) != VersionState.READY:
            return None
        manifest = self._ready_manifest(index, canary.version)
        return ResolvedVersion(index=index, alias=canary.alias, version=canary.version, manifest=manifest)

    def _ready_manifest(self, index: str, version: int) -> Manifest:
        """The manifest of a ready version (cached); 404-style errors when it is not ready."""
        key = (index, version)
        with self._lock:
            cached = self._manifests.get(key)
        if cached is not None and self.catalog.version_state(index, version) == VersionState.READY:
            return cached
        info = self._ready(index, version)
        assert info.manifest is not None
        with self._lock:
            self._manifests[key] = info.manifest
        return info.manifest

    def _ready(self, index: str, version: int) -> VersionInfo:
        info = self.catalog.get_version(index, version)
        if info is None:
            if not self.catalog.list_versions(index):
                raise IndexNotFound(f"unknown index {index!r}")
            raise VersionNotFound(f"index {index!r} has no version {version}")
        if info.state != VersionState.READY or info.manifest is None:
            raise VersionNotFound(f"index {index!r} version {version} is {info.state}, not ready")
        return info

    def promote(
        self,
        index: str,
        version: int,
        *,
        action: str = "promote",
        actor: str | None = None,
        reason: str | None = None,
    ) -> int | None:
        """Point the index's alias at a ready version; returns the version it named before.

        ``actor`` (who asked) and ``reason`` (why, when given) are recorded with the alias switch in the history.

        Refuses (409) the live version itself, a version whose storage fails a search, and a version
        holding a document purged after its files were collected; the alias does not move.
        """
        previous = self._check_promotable(index, version)
        pause_point("promote")
        self.engine.set_alias(index, index, version)
        self.catalog.record_alias_event(index, index, version, previous, action, actor, reason)
        self._retire_canary(index, version)
        return previous

    def _check_promotable(self, index: str, version: int) -> int | None:
        """Every check before the alias may name ``version``; returns the live version.

        Refuses a version that is not ready (404-style), the live version itself (AlreadyLive)
        and a version whose storage fails a search (StorageDamaged, 409).
        """
        info = self._ready(index, version)
        live = self.live_version(index)
        if live == version:
            raise AlreadyLive(f"{index}@{version} is already live; nothing changed")
        assert info.manifest is not None
        check_not_purged(self.catalog, info.manifest)
        self._probe_before_switch(info, "promote")
        return live

    def _probe_before_switch(self, info: VersionInfo, verb: str) -> None:
        """Search the version the alias is about to name; StorageDamaged (409) when that fails."""
        assert info.manifest is not None
        try:
            self.health.probe(info.index, info.version, info.manifest.embedder.dimension)
        except ShardBusy:
            return  # held open by the process serving it: it opened there
        except StorageDamaged as exc:
            raise type(exc)(f"cannot {verb} {info.index}@{info.version}: {exc.message}", status=409) from exc

    def promoted_stack(self, index: str) -> list[int]:
        """Versions promoted and not rolled back, oldest first; the last one is live.

        Canary events (``canary``, ``canary_removed``) never move the live alias and are skipped.
        """
        stack: list[int] = []
        for event in self.catalog.alias_history(index):
            if event.action in CANARY_ACTIONS:
                continue
            if event.action == "rollback":
                if stack:
                    stack.pop()
            else:
                stack.append(event.version)
        return stack

    def rollback(self, index: str, *, actor: str | None = None) -> tuple[int, int]:
        """Return the alias to the previously promoted version; returns (from, to), never equal.

        ``actor`` (who asked) is recorded with the alias switch in the history.

        Skips earlier entries that are the live version itself or no longer ready. Raises
        ``Conflict`` when nothing was promoted before the live version, and StorageDamaged (409)
        when the version to return to fails its probe (the alias is left as it is).
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
            if target != live and info is not None and info.state == VersionState.READY and info.manifest is not None:
                check_not_purged(self.catalog, info.manifest)
                self._probe_before_switch(info, "roll back to")
                self.engine.set_alias(index, index, target)
                self.catalog.record_alias_event(index, index, target, live, "rollback", actor)
                self._retire_canary(index, target)
                return live, target
            stack.pop(-2)
        raise Conflict(f"index {index!r} has no earlier promoted version to roll back to")

    # canary -------------------------------------------------------------------------------------

    def canary(self, index: str) -> Canary | None:
        """The index's canary, or None."""
        return self.canaries.get(index)

    def set_canary(self, index: str, version: int, share: float) -> Canary:
        """Make a ready version the canary, answering ``share`` (0 < share <= 1) of unpinned requests.

        Raises InvalidInput for a bad share, IndexNotFound / VersionNotFound unless the version
        is ready, and Conflict when the index has no live version or the version is the live one.
        """
        share = check_share(share)
        self._ready(index, version)
        live = self.live_version(index)
        if live is None:
            raise Conflict(f"index {index!r} has no live version: promote one before adding a canary")
        if live == version:
            raise Conflict(f"{index} v{version} is already live; a canary must be another version")
        return self.canaries.put(index, version, share)

    def remove_canary(self, index: str) -> Canary | None:
        """Remove the index's canary; returns it, or None when there was none (a no-op)."""
        if not self.catalog.list_versions(index):
            raise IndexNotFound(f"unknown index {index!r}")
        return self.canaries.remove(index)

    def _retire_canary(self, index: str, live: int) -> None:
        """Remove the canary once the live alias names its version."""
        canary = self.canaries.get(index)
        if canary is not None and canary.version == live:
            self.canaries.remove(index)
