"""A test-only seam for crash tests: pause the process at a named point so a test can kill it there.

When the environment variable ``RAG_FAULT_PAUSE`` names the point reached (``embed``, ``seal``,
``promote``, ``upload``), ``pause_point`` writes the file named by ``RAG_FAULT_PAUSE_FILE`` and
then waits until that file is removed (the test kills the process meanwhile, or removes the file
to let it go on). Without the variable (always, outside tests) it does nothing and costs one
environment lookup. Each point pauses once per process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["PAUSE_ENV", "PAUSE_FILE_ENV", "pause_point"]

PAUSE_ENV = "RAG_FAULT_PAUSE"
PAUSE_FILE_ENV = "RAG_FAULT_PAUSE_FILE"
_passed: set[str] = set()
_lock = threading.Lock()


def pause_point(name: str) -> None:
    """Pause here if the environment asks for ``name`` (see the module docstring); else return at once."""
    if os.environ.get(PAUSE_ENV) != name:
        return
    with _lock:
        if name in _passed:
            return
        _passed.add(name)
    marker = Path(os.environ[PAUSE_FILE_ENV])
    marker.write_text(f"{os.getpid()}\n")
    while marker.exists():
        threading.Event().wait(0.05)
