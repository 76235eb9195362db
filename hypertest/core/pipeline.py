"""A task pipeline: steps run in order; when one fails, the teardowns of those that ran run in reverse."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """One step, with an optional teardown that runs whatever happens after the step has run."""

    name: str
    run: Callable[[], None]
    teardown: Callable[[], None] | None = None


@dataclass
class Pipeline:
    """Runs tasks in order."""

    tasks: list[Task]

    def run(self) -> None:
        """Run every task; teardowns of started tasks always run (in reverse), errors propagate."""
        started: list[Task] = []
        try:
            for task in self.tasks:
                started.append(task)
                task.run()
        finally:
            for task in reversed(started):
                if task.teardown is None:
                    continue
                try:
                    task.teardown()
                except Exception as exc:
                    print(f"warning: teardown of {task.name} failed: {exc}", file=sys.stderr)
