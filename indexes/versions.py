"""Version lifecycle over the catalog and an engine: resolve references, promote, roll back, canary."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from indexes.canary import CANARY_ACTIONS, CANARY_REMOVED_ACTION, Canary, CanaryStore, check_share
from indexes.catalog import Catalog, VersionInfo, VersionState
from indexes.engine import VectorEngine
from indexes.errors import AlreadyLive, ShardBusy, StorageDamaged
from indexes.faultpoints import pause_point
from indexes.health import StorageHealth, storage_missing
from indexes.live_history import LiveSpan, VersionDropped, live_at
from indexes.manifest import Manifest
from indexes.purge import check_not_purged
from indexes.refs import IndexRef
from indexes.release_gates import ReleaseGates, check_gate
from indexes.release_migration import migrate_releases
from indexes.releases import AnswerSpec, Release, ReleaseStore
from rag.errors import Conflict, IndexNotFound, InvalidInput, VersionNotFound

__all__ = ["Draw", "ResolvedVersion", "Switch", "VersionRegistry"]

_SAME: object = object()

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
    release: Release | None = None
    """The release that answers (None: a pinned version, answered with the process's settings)."""


@dataclass(frozen=True, slots=True)
class Switch:
    """An alias switch to a release: the release now named and the release and version named before."""

    release: Release
    previous_release: int | None
    previous_version: int | None


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
        self.releases = ReleaseStore(catalog.engine)
        """The releases of every index (``indexes.releases``); aliases name them."""
        migrate_releases(catalog, engine)
        self.gates = ReleaseGates(catalog.engine)
        """The releases' stored gate results (``indexes.release_gates``); a failed one blocks a promotion."""
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
            release = self.live_release(ref.name)
            if release is not None:
                manifest = self._ready_manifest(release.index, release.version)
                if not self.engine.has_version(release.index, release.version):
                    raise storage_missing(self.engine, release.index, release.version)
                return ResolvedVersion(release.index, ref.name, release.version, manifest, release)
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
        release = self.releases.get(ref.name, span.release) if span.release is not None else None
        resolved = ResolvedVersion(ref.name, ref.name, span.version, manifest, release)
        return resolved, span

    def _canary_draw(self, index: str) -> ResolvedVersion | None:
        """The canary version when the index has a ready canary and the draw picks it, else None."""
        canary = self.canaries.get(index)
        if canary is None or self._draw() >= canary.share:
            return None
        if self.catalog.version_state(index, canary.version) != VersionState.READY:
            return None
        manifest = self._ready_manifest(index, canary.version)
        release = self.releases.get(index, canary.release) if canary.release is not None else None
        return ResolvedVersion(index, canary.alias, canary.version, manifest, release)

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

    # releases -----------------------------------------------------------------------------------

    def live_release(self, index: str) -> Release | None:
        """The release the index's alias names, or None (before the first promotion)."""
        target = self.catalog.get_release_alias(index)
        return None if target is None else self.releases.get(*target)

    def release_for(
        self, index: str, version: int | None = None, spec: object = _SAME, actor: str | None = None
    ) -> Release:
        """The live release with ``version`` and/or ``spec`` swapped: an existing identical release, or a new one.

        ``spec`` left out keeps the live release's (following the settings when it does, and when there
        is no live release). The version must be ready (404-style errors otherwise; nothing is stored).
        """
        live = self.live_release(index)
        if version is None:
            if live is None:
                self._index_exists(index)
                raise Conflict(f"index {index!r} has no live release: name a version")
            version = live.version
        self._ready(index, version)
        wanted: AnswerSpec | None
        if spec is _SAME:
            wanted = live.spec if live is not None else None
        else:
            assert spec is None or isinstance(spec, AnswerSpec)
            wanted = spec
        if live is not None and live.version == version and live.spec == wanted:
            return live
        return self.releases.find(index, version, wanted) or self.releases.create(index, version, wanted, actor)

    def _index_exists(self, index: str) -> None:
        if not self.catalog.list_versions(index):
            raise IndexNotFound(f"unknown index {index!r}")

    def promote(
        self,
        index: str,
        version: int,
        *,
        action: str = "promote",
        actor: str | None = None,
        reason: str | None = None,
        force: bool = False,
    ) -> int | None:
        """Point the index's alias at a ready version; returns the version it named before.

        The alias names a release: the live release with the index version swapped (an identical
        release is reused, else one is made). ``actor`` (who asked) and ``reason`` (why, when given)
        are recorded with the alias switch in the history.

        Refuses (409) the live version itself, a version whose storage fails a search, a version
        holding a document purged after its files were collected, and (unless ``force``) a reused
        release whose gate failed (GateFailed); the alias does not move.
        """
        live = self.live_release(index)
        if live is not None and live.version == version:
            self._ready(index, version)
            raise AlreadyLive(f"{index}@{version} is already live; nothing changed")
        if live is None and self.live_version(index) == version:
            raise AlreadyLive(f"{index}@{version} is already live; nothing changed")
        self._ready(index, version)
        release = self.release_for(index, version, actor=actor)
        switch = self.promote_release(index, release.number, action=action, actor=actor, reason=reason, force=force)
        return switch.previous_version

    def promote_release(
        self,
        index: str,
        number: int,
        *,
        action: str = "promote",
        actor: str | None = None,
        reason: str | None = None,
        force: bool = False,
    ) -> Switch:
        """Point the index's alias at release ``number``: one switch of the engine alias (its version) and
        of the release alias, recorded in the history with the release.

        Refuses (409) the live release itself, a release whose stored gate result failed unless
        ``force`` (GateFailed, ``gate_failed``; a release never gated is not checked), and a version
        that is not ready, whose storage fails a search or that holds a purged document; the alias
        does not move.
        """
        release = self.releases.get(index, number)
        live = self.live_release(index)
        if live is not None and live.number == number:
            raise AlreadyLive(f"{index} release {number} is already live; nothing changed")
        check_gate(self.gates, index, number, force=force)
        previous = self._check_switchable(index, release.version, "promote")
        pause_point("promote")
        self.engine.set_alias(index, index, release.version)
        self.catalog.record_alias_event(
            index, index, release.version, previous, action, actor, reason, release=number, point="set"
        )
        self._retire_canary(index, release)
        return Switch(release, live.number if live is not None else None, previous)

    def _check_switchable(self, index: str, version: int, verb: str) -> int | None:
        """Every check before the alias may name ``version``; returns the live version.

        Refuses a version that is not ready (404-style), one holding a purged document, and one
        whose storage fails a search (StorageDamaged, 409).
        """
        info = self._ready(index, version)
        live = self.live_version(index)
        assert info.manifest is not None
        check_not_purged(self.catalog, info.manifest)
        if live != version:
            self._probe_before_switch(info, verb)
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
        return [version for version, _ in self._stack(index)]

    def _stack(self, index: str) -> list[tuple[int, int | None]]:
        """(version, release) promoted and not rolled back, oldest first."""
        stack: list[tuple[int, int | None]] = []
        for event in self.catalog.alias_history(index):
            if event.action in CANARY_ACTIONS:
                continue
            if event.action == "rollback":
                if stack:
                    stack.pop()
            else:
                stack.append((event.version, event.release))
        return stack

    def rollback(self, index: str, *, actor: str | None = None) -> tuple[int, int]:
        """Return the alias to the previously promoted release; returns the (from, to) versions.

        ``actor`` (who asked) is recorded with the alias switch in the history. See :meth:`rollback_release`.
        """
        switch = self.rollback_release(index, actor=actor)
        assert switch.previous_version is not None
        return switch.previous_version, switch.release.version

    def rollback_release(self, index: str, *, actor: str | None = None, to: int | None = None) -> Switch:
        """Return the alias to the previously promoted release (or to release ``to``, which must have
        been promoted before); never to the live release itself.

        Skips earlier entries that are the live release or whose version is no longer ready. Raises
        ``Conflict`` when nothing was promoted before the live release, and StorageDamaged (409) when
        the version to return to fails its probe (the alias is left as it is).
        """
        live = self.live_release(index)
        live_version = self.live_version(index)
        if live is None and live_version is None:
            self._index_exists(index)
            raise Conflict(f"index {index!r} has no live version to roll back")
        stack = self._stack(index)
        if to is not None:
            self.releases.get(index, to)
            if not any(number == to for _, number in stack[:-1]) or (live is not None and live.number == to):
                raise Conflict(f"release {to} of {index!r} is not an earlier promoted release to roll back to")
        while len(stack) >= 2:
            version, number = stack[-2]
            info = self.catalog.get_version(index, version)
            same = number == live.number if live is not None and number is not None else version == live_version
            wanted = to is None or number == to
            if wanted and not same and info is not None and info.state == VersionState.READY and info.manifest:
                check_not_purged(self.catalog, info.manifest)
                if version != live_version:
                    self._probe_before_switch(info, "roll back to")
                release = self.releases.get(index, number) if number is not None else self.release_for(index, version)
                self.engine.set_alias(index, index, version)
                self.catalog.record_alias_event(
                    index, index, version, live_version, "rollback", actor, release=release.number, point="set"
                )
                self._retire_canary(index, release)
                return Switch(release, live.number if live is not None else None, live_version)
            stack.pop(-2)
        raise Conflict(f"index {index!r} has no earlier promoted version to roll back to")

    # canary -------------------------------------------------------------------------------------

    def canary(self, index: str) -> Canary | None:
        """The index's canary, or None."""
        return self.canaries.get(index)

    def set_canary(self, index: str, version: int, share: float) -> Canary:
        """Make a ready version the canary, answering ``share`` (0 < share <= 1) of unpinned requests.

        The canary is the live release with the index version swapped. Raises InvalidInput for a bad
        share, IndexNotFound / VersionNotFound unless the version is ready, and Conflict when the index
        has no live version or the version is the live one.
        """
        share = check_share(share)
        self._ready(index, version)
        live = self.live_release(index)
        if live is None:
            raise Conflict(f"index {index!r} has no live version: promote one before adding a canary")
        if live.version == version:
            raise Conflict(f"{index} v{version} is already live; a canary must be another version")
        return self.set_canary_release(index, self.release_for(index, version).number, share)

    def set_canary_release(self, index: str, number: int, share: float, *, actor: str | None = None) -> Canary:
        """Make release ``number`` the canary, answering ``share`` of unpinned requests.

        Raises InvalidInput for a bad share, ReleaseNotFound, VersionNotFound unless its version is
        ready, and Conflict when the index has no live release or the release is the live one.
        """
        share = check_share(share)
        release = self.releases.get(index, number)
        self._ready(index, release.version)
        live = self.live_release(index)
        if live is None:
            raise Conflict(f"index {index!r} has no live version: promote one before adding a canary")
        if live.number == number:
            raise Conflict(f"{index} release {number} is already live; a canary must be another release")
        return self.canaries.put(index, release.version, share, release=number, actor=actor)

    def canary_release(self, index: str) -> Release | None:
        """The release the canary answers with, or None without a canary (or one set before releases)."""
        canary = self.canaries.get(index)
        return None if canary is None or canary.release is None else self.releases.get(index, canary.release)

    def remove_canary(
        self,
        index: str,
        *,
        action: str = CANARY_REMOVED_ACTION,
        actor: str | None = None,
        reason: str | None = None,
    ) -> Canary | None:
        """Remove the index's canary; returns it, or None when there was none (a no-op).

        The alias history of ``<index>:canary`` records ``action`` (``canary_removed``, or
        ``canary_rolled_back`` from the canary analysis) with who removed it and why.
        """
        if not self.catalog.list_versions(index):
            raise IndexNotFound(f"unknown index {index!r}")
        return self.canaries.remove(index, action=action, actor=actor, reason=reason)

    def _retire_canary(self, index: str, live: Release) -> None:
        """Remove the canary once the live alias names its release (a canary set before releases: its version)."""
        canary = self.canaries.get(index)
        if canary is None:
            return
        if canary.release == live.number or (canary.release is None and canary.version == live.version):
            self.canaries.remove(index)
