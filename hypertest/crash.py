"""The one rule for how a command ends: its own exit code, a user's error (exit 2 or 3, one screen), Ctrl-C
(130), or an unexpected exception (exit 3, one line, the traceback kept in a file)."""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from hypertest.core.redaction import Redactor
from hypertest.errors import ExitCode, HypertestError
from hypertest.reporters.console import printable

DEBUG_VARIABLES = ("HT_DEBUG", "RUNNER_DEBUG")  # RUNNER_DEBUG: the Actions runner's debug logging


def debugging(environ: Mapping[str, str]) -> bool:
    """Whether tracebacks are printed (HT_DEBUG=1, or debug logging of the Actions runner)."""
    return any(environ.get(name, "").strip().lower() in ("1", "true") for name in DEBUG_VARIABLES)


def run_guarded(command: Callable[[], int], *, err: TextIO, debug: bool,
                describe: Callable[[str], str] = lambda text: text) -> int:
    """Run command and return the exit code the process ends with; describe formats a message for err.
    Every message has the known secrets (the environment's, and those a config expanded) replaced by ***."""
    try:
        return command()
    except HypertestError as exc:
        err.write(describe(_shown(exc.render())) + "\n")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err.write(describe("interrupted") + "\n")
        return int(ExitCode.INTERRUPTED)
    except RecursionError as exc:
        return _internal(exc, err, debug, describe, "nesting too deep for hypertest")
    except Exception as exc:  # the top of the program: anything else is a bug of ours
        return _internal(exc, err, debug, describe, f"{type(exc).__name__}: {exc}")


def _shown(text: str) -> str:
    """A message that may quote hostile text (a test's output, a file name), unable to drive a terminal, and
    secrets (a config value expanded from one), replaced by ***."""
    return "\n".join(printable(line) for line in _redacted(text).splitlines())


def _redacted(text: str) -> str:
    return Redactor.from_environ(os.environ).text(text)


def _internal(exc: BaseException, err: TextIO, debug: bool, describe: Callable[[str], str], what: str) -> int:
    text = _redacted("".join(traceback.format_exception(exc)))
    what = _redacted(what)
    saved = save_traceback(text)
    where = f"the traceback is in {saved}" if saved else "the traceback could not be saved"
    first = printable(what.splitlines()[0] if what.strip() else type(exc).__name__)[:300]
    message = f"internal error (a bug in hypertest, please report it): {first}\n  {where}; " \
              "run with --debug or HT_DEBUG=1 to print it"
    if debug:
        message += "\n" + text.rstrip()
    err.write(describe(message) + "\n")
    return int(ExitCode.INFRASTRUCTURE)


def save_traceback(text: str) -> Path | None:
    """Write a traceback to a new file in the temporary folder; None when that fails."""
    try:
        handle, name = tempfile.mkstemp(prefix=f"hypertest-traceback-{time.strftime('%Y%m%dT%H%M%S')}-",
                                        suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        return Path(name)
    except OSError:
        return None
