"""A data folder on a (nearly) full volume: clear 507/503 JSON errors instead of a crash or a plain 500.

Two ways in: the free-space threshold setting made larger than the free space (runs anywhere),
and a real small tmpfs mounted for the test (needs root and mount(2); skipped, saying why, where
the sandbox forbids it). On the tmpfs the CLI runs in a child process, because without the
free-space check Qdrant Edge kills its process with SIGBUS ("Bus error") when it maps a shard.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from indexes.alias_store import AliasStore
from indexes.disk_space import FreeSpace
from indexes.edge_engine import EdgeEngine
from indexes.errors import InsufficientStorage
from ingest.embedding import Embedder
from rag.wiring import build_services
from tests.api.conftest import ClientFactory, client_factory  # noqa: F401  (fixture)
from tests.conftest import ROOT, make_settings

QUESTION = {"question": "How many vacation days do I get?"}
MB = 1024 * 1024


class _Aliases(AliasStore):
    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, int]] = {}

    def get(self, alias: str) -> tuple[str, int] | None:
        return self.rows.get(alias)

    def set(self, alias: str, index: str, version: int) -> None:
        self.rows[alias] = (index, version)

    def delete(self, alias: str) -> None:
        self.rows.pop(alias, None)


def test_engine_refuses_to_create_a_version_below_the_threshold(tmp_path: Path) -> None:
    space = FreeSpace(tmp_path, 100 * MB, free_bytes=lambda _path: 10 * MB)
    engine = EdgeEngine(tmp_path / "shards", _Aliases(), space=space)

    with pytest.raises(InsufficientStorage, match=r"has 10 MB free, at least 100 MB is needed"):
        engine.create_version("policies", 1, 8)

    assert not engine.has_version("policies", 1)
    assert not (tmp_path / "shards" / "policies").exists()


def test_threshold_above_free_space_gives_507_and_not_ready(
    client_factory: ClientFactory,  # noqa: F811
    sample_copy: Path,
) -> None:
    client = client_factory(min_free_mb=1024 * 1024 * 1024)  # 1 PB: more than any volume here

    r = client.post("/v1/ask", json=QUESTION)

    assert r.status_code == 507, r.text
    error = r.json()["error"]
    assert error["code"] == "insufficient_storage"
    assert str(sample_copy) in error["message"]
    assert "is needed" in error["message"]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "not enough free space" in ready.json()["checks"]["storage"]


# --- a real small volume ---------------------------------------------------------------------------


@pytest.fixture()
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A 96 MB tmpfs mounted for the test, unmounted (and its memory freed) afterwards."""
    mount_point = tmp_path / "volume"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the threshold-setting test covers the check")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the threshold-setting test covers the check")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


def _copy_sample(built_sample: Path, volume: Path) -> Path:
    """The built sample copied onto the volume, keeping the shard's preallocated files sparse."""
    target = volume / "data"
    subprocess.run(["cp", "-a", "--sparse=always", str(built_sample), str(target)], check=True)
    return target


def _fill(volume: Path, leave_bytes: int) -> Path:
    """A file that takes all the volume's free space but ``leave_bytes``."""
    filler = volume / "filler"
    size = shutil.disk_usage(volume).free - leave_bytes
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, max(size, 1))
    finally:
        os.close(fd)
    return filler


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    return env


def test_cli_ask_on_a_nearly_full_volume_says_so_instead_of_bus_error(small_volume: Path, built_sample: Path) -> None:
    data_dir = _copy_sample(built_sample, small_volume)
    _fill(small_volume, 8 * MB)

    done = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", QUESTION["question"]],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )

    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    message = " ".join(done.stderr.split())
    assert "not enough free space for opening policies@1" in message
    assert str(data_dir) in message
    assert "at least 256 MB is needed" in message


def test_disk_filling_after_shards_opened_gives_json_507_and_not_ready(
    small_volume: Path, built_sample: Path, embedder: Embedder
) -> None:
    data_dir = _copy_sample(built_sample, small_volume)
    settings = make_settings(data_dir, min_free_mb=16, auth_enabled=False, rate_limit=None, worker_enabled=False)
    app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/v1/ask", json=QUESTION).status_code == 200  # the shard is open now
        assert client.get("/readyz").status_code == 200
        filler = _fill(small_volume, 0)

        r = client.post("/v1/ask", json=QUESTION)
        ready = client.get("/readyz")

        filler.unlink()
    assert r.status_code == 507, r.text
    assert r.json()["error"]["code"] == "insufficient_storage"
    assert str(data_dir) in r.json()["error"]["message"]
    assert ready.status_code == 503
    assert ready.json()["checks"]["storage"].startswith("error:")
