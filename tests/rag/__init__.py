"""Tests of the rag package."""
