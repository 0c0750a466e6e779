"""Folder watching: real file changes in a bound folder queue one build (debounced, coalesced); others do not."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingest.jobs.store import Job, JobStore, PromotePolicy
from ingest.jobs.triggers import BuildTrigger
from ingest.source_sync.watch import FolderWatcher
from ingest.sources.specs import FolderSpec


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether ``condition`` became true within ``timeout`` seconds (polled; the test decides on the condition)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class RecordingTrigger(BuildTrigger):
    """The real trigger, remembering every request's answer (job id, whether it queued a new job)."""

    def __init__(self, store: JobStore, enqueue: Callable[[str], None]) -> None:
        super().__init__(store, enqueue)
        self.answers: list[tuple[str, bool]] = []

    def request(self, index: str, promote: PromotePolicy, trigger: str) -> tuple[Job, bool]:
        job, new = super().request(index, promote, trigger)
        self.answers.append((job.job_id, new))
        return job, new


@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[tuple[Path, JobStore, list[str], FolderWatcher]]:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n")
    store = JobStore(sa.create_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}"))
    enqueued: list[str] = []
    trigger = RecordingTrigger(store, enqueued.append)
    watcher = FolderWatcher(
        lambda: {"policies": FolderSpec(folder=str(folder), promote="never")}, trigger, debounce_ms=300, refresh_s=5
    )
    watcher.start()
    yield folder, store, enqueued, watcher
    watcher.stop()


def watcher_trigger(setup: tuple[Path, JobStore, list[str], FolderWatcher]) -> RecordingTrigger:
    trigger = setup[3].trigger
    assert isinstance(trigger, RecordingTrigger)
    return trigger


def _queued(store: JobStore) -> list[Job]:
    return store.queued_for("policies")


def test_a_burst_of_saves_queues_one_build(setup: tuple[Path, JobStore, list[str], FolderWatcher]) -> None:
    folder, store, enqueued, watcher = setup
    assert _until(watcher.watching.is_set)  # an event before the watch is in place would not be seen
    (folder / ".draft.md").write_text("hidden")
    (folder / "notes.tmp").write_text("not a document")
    for n in range(5):
        (folder / f"policy-{n}.md").write_text(f"# Policy {n}\n")
    assert _until(lambda: len(enqueued) == 1 and len(_queued(store)) == 1)
    (folder / "leave.md").write_text("# Leave, edited\n")  # while the build waits: joins it
    answers = watcher_trigger(setup).answers
    assert _until(lambda: len(answers) == 2)  # the edit was seen ...
    assert answers[1] == (answers[0][0], False) and len(enqueued) == 1  # ... and joined the waiting build
    job = _queued(store)[0]
    assert (job.trigger, job.promote, job.mode, job.source) == ("watch", "never", "incremental", None)


def test_ignored_files_queue_nothing(setup: tuple[Path, JobStore, list[str], FolderWatcher]) -> None:
    folder, store, enqueued, watcher = setup
    assert _until(watcher.watching.is_set)
    (folder / ".hidden.md").write_text("hidden")
    (folder / "image.png").write_bytes(b"\x89PNG")
    # nothing within several debounce periods (0.3 s): "never" can only be observed for a while
    assert not _until(lambda: bool(enqueued), timeout=2.5)
    (folder / "marker.md").write_text("# Marker\n")  # a document: now a build is queued
    assert _until(lambda: len(enqueued) == 1 and len(_queued(store)) == 1)
