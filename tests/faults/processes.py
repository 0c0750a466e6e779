"""Real processes for crash tests: ``rag worker`` (or any Python snippet) over a data folder,
paused at a named point (``indexes.faultpoints``) so a test can kill it there, deterministically."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from indexes.faultpoints import PAUSE_ENV, PAUSE_FILE_ENV
from tests.conftest import ROOT

__all__ = ["Proc", "spawn", "until"]


def until(what: str, check: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    """Poll ``check()`` until it returns something truthy; fail saying ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Proc:
    """A child process with its output in a file, and the pause marker it writes."""

    def __init__(self, popen: subprocess.Popen[bytes], log: Path, marker: Path) -> None:
        self.popen = popen
        self.log = log
        self.marker = marker

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_paused(self, timeout: float = 180.0) -> None:
        """Wait until the process reached its pause point (it wrote the marker)."""

        def paused() -> bool:
            if self.popen.poll() is not None:
                raise AssertionError(f"the process exited ({self.popen.returncode}): {self.output()[-3000:]}")
            return self.marker.exists()

        until(f"the process to pause ({self.log.name})", paused, timeout)

    def wait_output(self, text: str, timeout: float = 180.0) -> None:
        until(f"{text!r} in {self.log.name}", lambda: text in self.output(), timeout)

    def resume(self) -> None:
        """Let a paused process go on."""
        self.marker.unlink(missing_ok=True)

    def kill9(self) -> None:
        """SIGKILL, as a crash or an OOM kill would; waits until it is gone."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()


def _env(data_dir: Path, pause: str | None, marker: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "RAG_DATA_DIR": str(data_dir),
            "RAG_WORKER_ENABLED": "false",
            "RAG_AUTH_ENABLED": "false",
            PAUSE_FILE_ENV: str(marker),
        }
    )
    if pause:
        env[PAUSE_ENV] = pause
    env.update(extra)
    return env


@contextmanager
def spawn(
    args: list[str], data_dir: Path, logs: Path, name: str, pause: str | None = None, **extra: str
) -> Iterator[Proc]:
    """Run ``python <args>`` with settings for ``data_dir``; stops (or has killed) it on exit."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    marker = logs / f"{name}.paused"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=_env(data_dir, pause, marker, extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    proc = Proc(popen, log, marker)
    try:
        yield proc
    finally:
        proc.resume()
        proc.stop()
