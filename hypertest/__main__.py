"""`python -m hypertest`: the command line."""

from __future__ import annotations

from hypertest.cli import main

raise SystemExit(main())
