"""The promotion policies of build jobs: how a built version goes live."""

from __future__ import annotations

from typing import Literal

__all__ = ["PromotePolicy"]

PromotePolicy = Literal["never", "if_gate_passes", "always", "canary"]
"""By hand (``never``), if the gate passes, ``always``, or as the canary if the gate passes (``canary``)."""
