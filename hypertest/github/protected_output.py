"""What hypertest prints in a GitHub workflow, decided in one place for the command line (a `run:` step) and
the action.

The runner reads the log for workflow commands (`::set-output`, `::add-mask::`, the legacy `##[error]`
anywhere in a line), and a pull request controls much of what hypertest prints: test titles, error text, file
names, config values, flag values. So in a workflow:

- the secret values of the environment are masked (`::add-mask::`) before anything else is printed;
- everything else is printed between `::stop-commands::TOKEN` and `::TOKEN::` (`protected`), usage errors
  included; standard error is sent to the same stream there, because the runner reads stdout and stderr
  through two pipes and handles each batch of lines stderr first: a region opened on one stream does not
  cover the other;
- what is printed after the region (annotations, which are workflow commands on purpose, or an error while
  publishing them) is a workflow command whose data is escaped (`error_command`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TextIO

from hypertest.github.escape import command_data
from hypertest.github.workflow import commands_stopped, mask
from runner.environment import secret_values


def in_workflow(environ: Mapping[str, str]) -> bool:
    """Whether this process runs in a GitHub Actions job, whose runner reads its output for commands."""
    return environ.get("GITHUB_ACTIONS") == "true"


def mask_secrets(out: TextIO, environ: Mapping[str, str], extra: Iterable[str] = ()) -> None:
    """`::add-mask::` for each value in extra and each secret value of environ (by its variable's name), so the
    runner hides them in every later line of the log; call it before anything else is printed."""
    for secret in dict.fromkeys((*extra, *secret_values(environ))):
        mask(out, secret)
    out.flush()


@contextlib.contextmanager
def protected(out: TextIO) -> Iterator[None]:
    """Within the block, nothing printed to out or to sys.stderr (sent to out meanwhile) is a workflow command
    for the runner: one `::stop-commands::TOKEN` ... `::TOKEN::` region on out."""
    with commands_stopped(out), contextlib.redirect_stderr(out):
        try:
            yield
        finally:
            out.flush()


def error_command(text: str) -> str:
    """An error message as one `::error` workflow command whose data is escaped as annotations are (for what
    is printed outside a protected region)."""
    return f"::error title=hypertest::{command_data(text)}"
