"""hypertest: run a Playwright suite massively in parallel, one sandbox per test."""

from __future__ import annotations

__version__ = "0.1.0"
