"""Keeping indexes current from their sources: staging a listing, syncing, schedules and folder watching.

Above ``ingest.sources`` (which only lists and reads) and beside the build, the document store and
the jobs it drives, so nothing below depends on it.
"""
