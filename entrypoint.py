"""The GitHub Action's entry point, and the command line from a checkout: `python entrypoint.py invoke`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hypertest.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
