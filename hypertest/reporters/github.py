"""`reporters: [github]`: the GitHub publishers (hypertest/github/reporter.py) under the reporters' registry."""

from __future__ import annotations

from hypertest.github.reporter import REPORTER

__all__ = ["REPORTER"]
