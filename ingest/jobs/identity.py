"""Who owns a running job: the worker process's identity ``host:pid:token`` and whether it still lives.

The token tells processes apart that share a host name and a pid: it is the pid namespace and the
process's start time (in clock ticks since boot, from ``/proc``), so a restarted container whose
new process got the same pid, or a pid the kernel reused, is never mistaken for the old owner.
Where ``/proc`` is missing the token is random (liveness then rests on the job's lease alone).

``liveness(worker)`` answers ``alive`` only when this host can see that very process running,
``dead`` only when it can see that the process is gone, and ``unknown`` otherwise (another host,
another pid namespace, a legacy ``host:pid`` id whose pid is taken): recovery then trusts the lease.
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import cache
from pathlib import Path
from typing import Literal

__all__ = ["Liveness", "WorkerId", "liveness", "parse_worker_id", "worker_id"]

Liveness = Literal["alive", "dead", "unknown"]


def _pid_namespace() -> str:
    try:
        link = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return "nons"
    return link.partition("[")[2].rstrip("]") or "nons"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None when it does not exist (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: fields after the last ")" are fixed
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None  # field 22 overall: starttime


class WorkerId:
    """A parsed worker id: host, pid and (from this format on) the start token."""

    __slots__ = ("host", "pid", "token")

    def __init__(self, host: str, pid: int, token: str | None) -> None:
        self.host = host
        self.pid = pid
        self.token = token


@cache
def worker_id() -> str:
    """This process's identity in job records: ``host:pid:token`` (stable for the process's life)."""
    pid = os.getpid()
    ticks = _start_ticks(pid)
    token = f"{_pid_namespace()}-{ticks}" if ticks is not None else f"rnd-{uuid.uuid4().hex[:12]}"
    return f"{socket.gethostname()}:{pid}:{token}"


def parse_worker_id(worker: str) -> WorkerId | None:
    """``host:pid:token`` or the legacy ``host:pid``; None for anything else."""
    head, _, last = worker.rpartition(":")
    if last.isdigit():
        return WorkerId(head, int(last), None) if head else None
    host, _, pid_text = head.rpartition(":")
    if not host or not pid_text.isdigit():
        return None
    return WorkerId(host, int(pid_text), last)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def liveness(worker: str) -> Liveness:
    """Whether the process named by ``worker`` is running, as far as this process can tell."""
    parsed = parse_worker_id(worker)
    if parsed is None or parsed.host != socket.gethostname():
        return "unknown"
    if parsed.token is None:  # legacy id: only a missing pid is conclusive
        return "dead" if not _pid_exists(parsed.pid) else "unknown"
    namespace, _, ticks = parsed.token.partition("-")
    if namespace != _pid_namespace() or namespace in {"rnd", "nons"}:
        return "unknown"  # another container with the same host name: its pids are not ours to see
    if worker == worker_id():
        return "alive"
    current = _start_ticks(parsed.pid)
    if current is None:
        return "dead" if not _pid_exists(parsed.pid) else "unknown"
    return "alive" if current == ticks else "dead"  # a different start time: the pid was reused
