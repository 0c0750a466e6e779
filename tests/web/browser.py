"""Debian's chromium driven by Playwright (never a browser Playwright downloads itself)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium (``apt-get install chromium``; CI installs it in ``.ci/browser.sh``)."""

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when chromium is installed."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install -y chromium; CI runs .ci/browser.sh)"
    return None
