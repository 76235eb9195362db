"""The GitHub Action's entry point (in Actions, with no arguments: inputs come from INPUT_*), and the
command line from a checkout: `python entrypoint.py invoke`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hypertest.cli import main

if __name__ == "__main__":
    if os.environ.get("GITHUB_ACTIONS") == "true" and len(sys.argv) == 1:
        from hypertest.crash import debugging, run_guarded
        from hypertest.github.action import run_action
        from hypertest.github.protected_output import error_command

        raise SystemExit(run_guarded(run_action, err=sys.stdout, debug=debugging(os.environ),
                                     describe=error_command))
    raise SystemExit(main())
