"""Access control in one place: who a caller is and what it may see and do.

- ``principal``: the caller (role, access groups, owned indexes, the signed-in user)
- ``keys``: API keys; ``tokens``: the identity provider's access tokens; ``claims``: token claims
  to a principal; ``authenticate``: a bearer token to a principal
- ``policy``: which role a route needs; ``documents`` and ``jobs``: the document and job rules;
  ``visibility``: manifests, diffs and job results cut to a caller's groups
- ``asking``: questions asked on a caller's behalf; ``searching``: passages searched on its behalf;
  ``feedback``: who may rate an answer; ``audit``: the append-only audit log
- ``errors``: 401, 403 and 429

Group-name rules live with the documents they label, in ``ingest.access_groups``.
"""

__all__: list[str] = []
