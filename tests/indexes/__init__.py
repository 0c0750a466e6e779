"""Tests of the indexes package."""
