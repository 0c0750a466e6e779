"""Canary analysis: each arm (live, canary) measured on the traffic it answered, compared under a
policy with a stated test, and the canary removed, promoted or marked ready automatically.

- :mod:`rag.canary.arms`     which arm answered a question (the one place that reads it from a record)
- :mod:`rag.canary.policy`   the canary policy: minimum questions and duration, allowed worsening
- :mod:`rag.canary.stats`    the statistical tests (proportions, latency)
- :mod:`rag.canary.runs`     canary runs and their observations in the metadata database
- :mod:`rag.canary.verdict`  both arms compared under the policy: no verdict, worse, holding, passed
- :mod:`rag.canary.webhook`  signed webhook deliveries with retries, off the answer path
- :mod:`rag.canary.watch`    the background watcher that records observations and acts on verdicts
"""

__all__: list[str] = []
