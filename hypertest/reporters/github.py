"""`reporters: [github]`: the GitHub publishers (hypertest/github/publication.py) under the reporters' registry."""

from __future__ import annotations

from hypertest.github.publication import REPORTER

__all__ = ["REPORTER"]
