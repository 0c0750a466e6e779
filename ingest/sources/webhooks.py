"""Git push webhooks (GitHub, Gitea, GitLab): verifying who sent them and which bindings they concern.

GitHub and Gitea sign the raw body with HMAC-SHA256 (``X-Hub-Signature-256: sha256=<hex>``; Gitea
also sends ``X-Gitea-Signature: <hex>``); GitLab sends the shared token itself (``X-Gitlab-Token``).
Every comparison is constant-time. A push names its repository by several URLs (https, ssh, web);
they are compared to bound Git URLs without scheme, user, ``.git`` suffix or letter case.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ingest.sources.bindings import Binding
from ingest.sources.specs import GitSpec
from rag.errors import InvalidInput

__all__ = ["Push", "bound_indexes", "normalize_repo_url", "parse_push", "verify_signature"]

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")


@dataclass(frozen=True, slots=True)
class Push:
    """A push event: who sent it, the repository's URLs (normalized), the branch and the new commit."""

    provider: str
    repo_urls: frozenset[str]
    branch: str | None
    after: str


def verify_signature(headers: Mapping[str, str], body: bytes, secret: str | None) -> str | None:
    """The provider whose signature over ``body`` checks out with ``secret`` (``github``, ``gitea``,
    ``gitlab``), or None: a missing, malformed or wrong signature, or no secret configured."""
    if not secret:
        return None
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    signature = headers.get("x-hub-signature-256", "")
    if signature.startswith("sha256=") and hmac.compare_digest(signature[7:].lower(), expected):
        return "gitea" if "x-gitea-event" in headers else "github"
    gitea = headers.get("x-gitea-signature", "")
    if gitea and hmac.compare_digest(gitea.lower(), expected):
        return "gitea"
    token = headers.get("x-gitlab-token", "")
    if token and hmac.compare_digest(token.encode(), secret.encode()):
        return "gitlab"
    return None


def normalize_repo_url(url: str) -> str:
    """``host/owner/repo`` of a repository URL (https, ssh, scp-like ``git@host:owner/repo.git``), lower-cased."""
    url = url.strip()
    if "://" in url:
        rest = url.split("://", 1)[1]
        rest = rest.split("@", 1)[1] if "@" in rest.split("/", 1)[0] else rest
        host, _, path = rest.partition("/")
        host = host.split(":", 1)[0]  # ssh://git@host:2222/... : the port is not part of the name
    else:
        match = _SCP_LIKE.match(url)
        if match is None:
            return url.rstrip("/").lower()
        host, path = match.group(1), match.group(2)
    path = path.strip("/")
    path = path[:-4] if path.endswith(".git") else path
    return f"{host}/{path}".lower()


def _urls(payload: dict[str, object]) -> frozenset[str]:
    found: set[str] = set()
    for key in ("repository", "project"):
        part = payload.get(key)
        if isinstance(part, dict):
            for field in ("clone_url", "ssh_url", "html_url", "git_http_url", "git_ssh_url", "web_url", "url"):
                value = part.get(field)
                if isinstance(value, str) and value:
                    found.add(normalize_repo_url(value))
    return frozenset(found)


def parse_push(provider: str, body: bytes) -> Push:
    """The push in a webhook body; ``InvalidInput`` when it is not a JSON push event."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"the webhook body is not JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("the webhook body is not a JSON object")
    ref = payload.get("ref")
    branch = ref[len("refs/heads/") :] if isinstance(ref, str) and ref.startswith("refs/heads/") else None
    after = payload.get("after") if isinstance(payload.get("after"), str) else ""
    return Push(provider=provider, repo_urls=_urls(payload), branch=branch, after=str(after))


def bound_indexes(push: Push, bindings: Iterable[Binding]) -> list[str]:
    """Indexes bound to the pushed repository and branch (a tag or an unknown repository: none)."""
    if push.branch is None or not push.repo_urls:
        return []
    return sorted(
        b.index
        for b in bindings
        if isinstance(b.spec, GitSpec)
        and b.spec.branch == push.branch
        and normalize_repo_url(b.spec.url) in push.repo_urls
    )
