"""Retrieval evaluation: ranking metrics, golden question sets and the promotion gate."""
