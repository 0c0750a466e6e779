"""Folder watching (embedded mode, off by default): a change in a bound folder queues a build of its index.

watchfiles (inotify through Rust's ``notify``) groups the events of ``debounce_ms`` into one batch,
and ``BuildTrigger`` joins a batch to a build still waiting in the queue, so saving many files at once
gives one build. Hidden files and files no loader reads are ignored. The set of watched folders is
re-read from the bindings every ``refresh_s`` seconds, so folders bound later are picked up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, watch

from ingest.jobs.triggers import BuildTrigger
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.sources.specs import AnySpec, FolderSpec

__all__ = ["FolderWatcher", "folder_bindings"]

log = logging.getLogger("ingest.source_sync.watch")

FoldersFn = Callable[[], dict[str, FolderSpec]]
"""The folder bindings to watch, by index."""


def _relevant(change: Change, path: str) -> bool:
    name = Path(path).name
    return not name.startswith(".") and Path(path).suffix.lower() in SUPPORTED_SUFFIXES


class FolderWatcher:
    """Watches bound folders in a daemon thread and asks ``trigger`` for a build (trigger ``watch``) on change."""

    def __init__(
        self, folders: FoldersFn, trigger: BuildTrigger, *, debounce_ms: int = 2000, refresh_s: float = 30.0
    ) -> None:
        self.folders = folders
        self.trigger = trigger
        self.debounce_ms = debounce_ms
        self.refresh_s = refresh_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.watching = threading.Event()
        """Set once the folders are watched (changes from then on are seen)."""

    def start(self) -> None:
        """Start watching until ``stop``."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="folder-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop watching (within about a second)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            bound = {index: spec for index, spec in self.folders().items() if Path(spec.folder).is_dir()}
            if not bound:
                self._stop.wait(self.refresh_s)
                continue
            roots = {index: Path(spec.folder).resolve() for index, spec in bound.items()}
            try:
                self._watch(bound, roots)
            except Exception:  # a folder removed while watched, an inotify limit: try again later
                log.exception("folder watching failed; retrying")
                self._stop.wait(self.refresh_s)

    def _watch(self, bound: dict[str, FolderSpec], roots: dict[str, Path]) -> None:
        rounds = 0
        timeout_ms = 1000
        for changes in watch(
            *set(roots.values()),
            watch_filter=_relevant,
            debounce=self.debounce_ms,
            stop_event=self._stop,
            rust_timeout=timeout_ms,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            self.watching.set()  # the first yield (a timeout, or changes) comes after the watch is in place
            if changes:
                for index in sorted(_indexes_of(changes, roots)):
                    job, new = self.trigger.request(index, bound[index].promote, "watch")
                    log.info("folder of %s changed: %s job %s", index, "queued" if new else "joined", job.job_id)
            else:
                rounds += 1
                if rounds * timeout_ms / 1000 >= self.refresh_s:
                    return  # re-read the bindings


def _indexes_of(changes: set[tuple[Change, str]], roots: dict[str, Path]) -> set[str]:
    return {index for _, path in changes for index, root in roots.items() if Path(path).is_relative_to(root)}


def folder_bindings(specs: Callable[[], dict[str, AnySpec]]) -> FoldersFn:
    """The folder bindings among ``specs()``."""

    def folders() -> dict[str, FolderSpec]:
        return {index: spec for index, spec in specs().items() if isinstance(spec, FolderSpec)}

    return folders
