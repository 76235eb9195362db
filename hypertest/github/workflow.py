"""The runner side of Actions: step outputs (random heredoc delimiters), the job summary, masks, groups."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from hypertest.github.escape import command_data, mask_value
from hypertest.github.files import append_text


def write_outputs(path: Path, outputs: Mapping[str, str]) -> None:
    """Append name<<DELIMITER blocks to $GITHUB_OUTPUT, in one write; a delimiter never appears in its value.
    OSError (files.NotAFile for a FIFO, device, folder or symbolic link) when the file cannot take them."""
    blocks = []
    for name, value in outputs.items():
        delimiter = f"ht_{secrets.token_hex(16)}"
        while delimiter in value:
            delimiter = f"ht_{secrets.token_hex(16)}"
        blocks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    append_text(path, "".join(blocks))


def append_summary(path: Path, markdown: str) -> None:
    """Add Markdown to $GITHUB_STEP_SUMMARY; OSError (files.NotAFile for a FIFO, device, folder or symbolic
    link) when it cannot be added."""
    append_text(path, markdown)


def mask(out: TextIO, secret: str) -> None:
    """Hide secret in every later log line."""
    if secret:
        out.write(f"::add-mask::{mask_value(secret)}\n")


def group(out: TextIO, name: str) -> None:
    """Start a collapsible log group."""
    out.write(f"::group::{command_data(name)}\n")


def end_group(out: TextIO) -> None:
    """End the log group."""
    out.write("::endgroup::\n")


@contextmanager
def commands_stopped(out: TextIO) -> Iterator[None]:
    """Within the block, the runner treats nothing written as a workflow command (test titles, messages
    and file names can hold `::error::` or `##[error]`): `::stop-commands::TOKEN` ... `::TOKEN::`."""
    token = f"ht_{secrets.token_hex(16)}"
    out.write(f"::stop-commands::{token}\n")
    out.flush()
    try:
        yield
    finally:
        out.write(f"\n::{token}::\n")
        out.flush()
