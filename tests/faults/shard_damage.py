"""Helpers of the storage fault tests: build a second version, damage real shard files."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import SAMPLE_DIR, ServicesFactory

__all__ = ["build_second_version", "garble_payload", "garble_segment_config", "remove_shard", "shard_dir"]


def shard_dir(data_dir: Path, version: int, index: str = "policies") -> Path:
    """The Edge shard directory of ``index`` version ``version`` in a data folder."""
    return data_dir / "shards" / index / f"v{version:04d}"


def build_second_version(services_factory: ServicesFactory, data_dir: Path) -> int:
    """Build the sample again into ``data_dir`` (not promoted); returns the new version, its shard closed."""
    services = services_factory(data_dir)
    version = services.builder.build("policies", SAMPLE_DIR).manifest.version
    services.close()
    return version


def garble_payload(data_dir: Path, version: int) -> None:
    """Overwrite the start of the payload pages: the shard still opens, every search fails."""
    (page,) = shard_dir(data_dir, version).glob("segments/*/payload_storage/page_0.dat")
    with page.open("r+b") as f:
        f.write(bytes(range(256)) * 800)


def garble_segment_config(data_dir: Path, version: int) -> None:
    """Replace the segment description with garbage: the shard no longer opens."""
    (config,) = shard_dir(data_dir, version).glob("segments/*/segment.json")
    config.write_text("{garbage")


def remove_shard(data_dir: Path, version: int) -> Path:
    """Delete the version's shard directory (as a careless clean-up would); returns its path."""
    path = shard_dir(data_dir, version)
    shutil.rmtree(path)
    return path
