"""A Slack user as a caller: an employee whose access groups come from the app's settings.

``slack_user_groups`` maps Slack user group ids to access groups (members from
``usergroups.users.list``); ``slack_email_domain_groups`` maps the domain of the user's email
(``users.info``) to access groups. A user matching neither, or whom Slack will not describe, gets
the default group only (``Principal.visible_groups`` always adds it). The principal's id is
``slack:<team>:<user>``: the answers a Slack user receives are recorded under it, so only that user
can rate them. Lookups are cached for ``slack_directory_ttl_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from rag.access.principal import Principal, UserIdentity

__all__ = ["SlackDirectory"]

log = logging.getLogger("api.slack")


class _TtlCache:
    """Values kept for ``ttl_s`` seconds (a handful of keys: users and user groups)."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl = ttl_s
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or time.monotonic() - found[0] > self._ttl:
                return None
            return found[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)


class SlackDirectory:
    """Turns a Slack user into a :class:`Principal` (role employee, groups from the mappings)."""

    def __init__(
        self,
        client: WebClient,
        user_groups: dict[str, list[str]],
        email_domain_groups: dict[str, list[str]],
        ttl_s: float = 300.0,
    ) -> None:
        self._client = client
        self._user_groups = user_groups
        self._domains = {d.lower(): g for d, g in email_domain_groups.items()}
        self._cache = _TtlCache(ttl_s)

    def principal(self, team_id: str, user_id: str) -> Principal:
        """The caller ``user_id`` of workspace ``team_id`` is; never more than the mappings give."""
        email = self._email(user_id)
        groups: set[str] = set()
        if email and "@" in email:
            groups.update(self._domains.get(email.rsplit("@", 1)[1].lower(), []))
        for group_id, access_groups in self._user_groups.items():
            if user_id in self._members(group_id):
                groups.update(access_groups)
        return Principal(
            key_id=f"slack:{team_id}:{user_id}"[:64],
            name=email or f"slack user {user_id}",
            role="employee",
            groups=sorted(groups),
            user=UserIdentity(issuer=f"slack:{team_id}", subject=user_id, email=email),
        )

    def _email(self, user_id: str) -> str | None:
        key = f"user:{user_id}"
        cached = self._cache.get(key)
        if cached is not None:
            return str(cached) or None
        try:
            user = self._client.users_info(user=user_id)["user"]
        except (SlackApiError, SlackClientError, KeyError, TypeError) as exc:
            log.warning("slack users.info failed for %s: %s; default group only", user_id, exc)
            return None
        email = str((user.get("profile") or {}).get("email") or "")
        self._cache.put(key, email)
        return email or None

    def _members(self, group_id: str) -> set[str]:
        key = f"group:{group_id}"
        cached = self._cache.get(key)
        if cached is not None:
            return set(cached)
        try:
            users = self._client.usergroups_users_list(usergroup=group_id)["users"]
        except (SlackApiError, SlackClientError, KeyError, TypeError) as exc:
            log.warning("slack usergroups.users.list failed for %s: %s; its groups are not given", group_id, exc)
            return set()
        members = {str(u) for u in users or []}
        self._cache.put(key, members)
        return members
