"""A Git repository as a ``Source`` (GitPython over the git command line): a branch, optionally a sub-folder.

A local repository is read in place; a remote one (https with a token, or ssh with the host's keys)
is fetched into a bare mirror in the data folder, force-updating the branch so a force-push is
followed. The source's revision is the branch's commit; each document's revision is the last commit
that changed it, with its author and date, and the path it was renamed from when git detects a
rename in that commit. Document bytes are read by blob id, so an unchanged file is never copied twice.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path, PurePosixPath
from typing import Any

from filelock import FileLock, Timeout
from git import Repo
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.sources.base import Snapshot, SourceDocument
from rag.errors import SourceError

__all__ = ["GitSource", "is_local_repository"]

_REMOTE_PREFIXES = ("https://", "http://", "ssh://", "git://", "file://")


def is_local_repository(location: str) -> bool:
    """Whether ``location`` names a repository on this host (a path) rather than a URL."""
    return not location.startswith(_REMOTE_PREFIXES) and not (
        "@" in location and ":" in location.split("@", 1)[1]  # scp-like ssh: git@host:org/repo.git
    )


def redact_url(url: str) -> str:
    """``url`` without a password or token written into it (``https://user:secret@host`` -> ``https://host``)."""
    if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


class GitSource:
    """Documents of ``branch`` under ``path`` in the repository at ``location`` (a path or a URL).

    ``token`` (https only) is sent as an HTTP Authorization header through git's environment, never
    written into a URL, a file or a message. ``mirrors`` is where remote repositories are fetched to.
    Every git call is bounded by ``timeout_s``.
    """

    kind = "git"

    def __init__(
        self,
        location: str,
        branch: str = "main",
        path: str = "",
        *,
        mirrors: Path,
        token: str | None = None,
        username: str = "x-access-token",
        timeout_s: float = 120.0,
    ) -> None:
        self.location = location
        self.branch = branch
        self.path = path.strip("/")
        self.mirrors = mirrors
        self.timeout_s = timeout_s
        self._token = token
        self._username = username
        self._repo: Repo | None = None

    @property
    def label(self) -> str:
        """``git <url or path>@<branch>[:<path>]``, without credentials."""
        where = f":{self.path}" if self.path else ""
        return f"git {redact_url(self.location)}@{self.branch}{where}"

    @property
    def remote(self) -> bool:
        """Whether the repository is fetched from a URL into a mirror."""
        return not is_local_repository(self.location)

    # git plumbing -------------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {"GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}
        if self._token:
            basic = base64.b64encode(f"{self._username}:{self._token}".encode()).decode()
            env.update(
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
                }
            )
        return env

    def _clean(self, text: str) -> str:
        text = text.replace(self.location, redact_url(self.location))
        if self._token:
            text = text.replace(self._token, "***")
        return " ".join(text.split())[:500]

    def _git(self, *args: str) -> str:
        repo = self._open()
        try:
            out = repo.git.execute(
                ["git", "-c", "core.quotePath=false", *args],
                env=self._env(),
                kill_after_timeout=self.timeout_s,
            )
        except GitCommandError as exc:
            detail = exc.stderr or str(exc)
            raise SourceError(f"{self.label}: git {args[0]} failed: {self._clean(str(detail))}") from exc
        return str(out)

    def _open(self) -> Repo:
        if self._repo is not None:
            return self._repo
        if not self.remote:
            try:
                self._repo = Repo(self.location)
            except (InvalidGitRepositoryError, NoSuchPathError) as exc:
                raise SourceError(f"{self.label}: not a Git repository") from exc
            return self._repo
        key = hashlib.sha256(self.location.encode()).hexdigest()[:20]
        where = self.mirrors / f"{key}.git"
        if (where / "HEAD").is_file():
            repo = Repo(where)
        else:
            where.parent.mkdir(parents=True, exist_ok=True)
            repo = Repo.init(where, bare=True)
        with repo.config_writer() as config:  # the URL without credentials; the token travels in the env
            config.set_value('remote "origin"', "url", self.location)
        self._repo = repo
        return repo

    def _ref(self) -> str:
        return f"refs/heads/{self.branch}"

    def fetch(self) -> None:
        """Bring the mirror's branch to the remote's (force: a force-push replaces history); local: no-op.

        Fetches into one mirror take turns (a file lock beside it), across threads and processes.
        """
        if not self.remote:
            return
        mirror = Path(str(self._open().git_dir))
        try:
            with FileLock(str(mirror) + ".lock", timeout=self.timeout_s):
                self._git("fetch", "--prune", "--no-tags", "origin", f"+{self._ref()}:{self._ref()}")
        except Timeout as exc:
            raise SourceError(f"{self.label}: another fetch held the mirror for {self.timeout_s:g} s") from exc

    def _head(self) -> str:
        self._open()  # a missing repository is its own error, not a missing branch
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{self._ref()}^{{commit}}").strip()
        except SourceError:
            raise SourceError(f"{self.label}: branch {self.branch!r} does not exist") from None

    # the Source interface ------------------------------------------------------------------------

    def revision(self) -> str:
        """The branch's commit: for a remote, asked of the remote without fetching (``git ls-remote``)."""
        if not self.remote:
            return self._head()
        out = self._git("ls-remote", "origin", self._ref())
        line = out.split("\n", 1)[0].strip()
        if not line:
            raise SourceError(f"{self.label}: branch {self.branch!r} does not exist")
        return line.split()[0]

    def changed_since(self, revision: str | None) -> bool:
        """False when the branch still names ``revision``, or when only files outside ``path`` changed."""
        if revision is None:
            return True
        current = self.revision()
        if current == revision:
            return False
        if not self.path:
            return True
        self.fetch()
        try:
            before = self._git("rev-parse", "--verify", "--quiet", f"{revision}:{self.path}")
        except SourceError:
            return True  # the old commit is gone (a force-push) or never had the folder
        return before.strip() != self._git("rev-parse", "--verify", "--quiet", f"{current}:{self.path}").strip()

    def snapshot(self) -> Snapshot:
        """Every supported file of the branch under ``path``, with its last commit, author and date."""
        self.fetch()
        commit = self._head()
        listing = self._git("ls-tree", "-r", "-l", "-z", commit, "--", *([self.path] if self.path else []))
        prefix = f"{self.path}/" if self.path else ""
        entries: dict[str, tuple[str, int]] = {}
        skipped: list[str] = []
        for record in filter(None, listing.split("\0")):
            meta, full = record.split("\t", 1)
            mode, kind, blob, size_text = meta.split()
            if not full.startswith(prefix):
                continue
            name = full[len(prefix) :]
            hidden = any(part.startswith(".") for part in PurePosixPath(name).parts)
            if kind != "blob" or hidden:
                continue
            if mode == "120000" or PurePosixPath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                skipped.append(name)
                continue
            entries[full] = (blob, int(size_text))
        if not entries:
            kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
            raise SourceError(f"{self.label} holds no supported documents ({kinds}) at {commit[:12]}")
        history = self._last_commits(commit, set(entries))
        docs = []
        for full, (blob, size) in entries.items():
            info = history.get(full, {"commit": commit})
            docs.append(
                SourceDocument(
                    name=full[len(prefix) :],
                    revision=str(info["commit"]),
                    fingerprint=blob,
                    size=size,
                    metadata={"revision": info},
                )
            )
        return Snapshot(revision=commit, documents=docs, skipped=sorted(skipped))

    def _last_commits(self, commit: str, wanted: set[str]) -> dict[str, dict[str, Any]]:
        """For each path in ``wanted``: the newest commit that added, changed or renamed it to that path."""
        out = self._git(
            "log",
            "--format=%x1e%H%x1f%an%x1f%aI",
            "--name-status",
            "-M",
            commit,
            "--",
            *([self.path] if self.path else []),
        )
        found: dict[str, dict[str, Any]] = {}
        for block in out.split("\x1e"):
            if not block.strip():
                continue
            header, _, changes = block.partition("\n")
            sha, author, date = header.split("\x1f")
            for line in changes.splitlines():
                fields = line.split("\t")
                if len(fields) < 2 or fields[0].startswith("D"):
                    continue
                path = fields[-1]
                if path in wanted and path not in found:
                    info: dict[str, Any] = {"commit": sha, "author": author, "date": date}
                    if fields[0].startswith("R") and len(fields) == 3:
                        info["renamed_from"] = fields[1]
                    found[path] = info
            if len(found) == len(wanted):
                break
        return found

    def read(self, doc: SourceDocument) -> bytes:
        """The blob's bytes (by its id, through git's object database)."""
        try:
            data: bytes = self._open().odb.stream(bytes.fromhex(doc.fingerprint)).read()
        except (ValueError, OSError, GitCommandError) as exc:
            raise SourceError(f"cannot read {doc.name} from {self.label}: {self._clean(str(exc))}") from exc
        return data

    def local_path(self, doc: SourceDocument) -> Path | None:
        """None: documents are read from git's object database and copied."""
        return None
