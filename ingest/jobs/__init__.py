"""Build jobs: a durable record per job (``store``), a queue that delivers them (``queue``) and the
worker that runs them (``runner``)."""
