"""Route rules: whether a caller's role and owned indexes admit it to an action.

Every route states the least role it needs (employee < owner < admin) and, for owner routes, the
index the caller must own; :func:`refusal` is the one place that decides.
"""

from __future__ import annotations

from rag.access.principal import Principal, Role, role_at_least

__all__ = ["refusal"]


def refusal(principal: Principal, role: Role, index: str | None = None) -> str | None:
    """Why ``principal`` may not act with ``role`` (on ``index``, for owner routes), or None when it may.

    ``index`` is checked only when ``role`` is owner: admins own every index, and an employee route
    has no owned index.
    """
    if not role_at_least(principal.role, role):
        return f"this needs the {role} role; {principal.label} is {principal.role}"
    if index is not None and role == "owner" and not principal.owns(index):
        return f"{principal.label} does not own the index {index!r}"
    return None
