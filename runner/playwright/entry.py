"""A Playwright unit as the runner's entry sees it: the payload parsed, its store, and how to run it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.artifacts import ArtifactStore, store_from_payload
from runner.model import UnitRun
from runner.payload import parse_payload
from runner.playwright.unit import run_unit


def prepare(event: Any) -> tuple[UnitRun, ArtifactStore]:
    """The unit's run (deadline, environment → unit result) and its artifact store; PayloadError when bad."""
    payload = parse_payload(event)
    store = store_from_payload(payload.artifacts)
    return (lambda deadline, environ: run_unit(payload, store, deadline=deadline, environ=environ)), store


def warm_up(event: Any, environ: Mapping[str, str]) -> str:
    """Start what a unit of this event keeps between units (runner/playwright/warm_up.py); PayloadError when bad."""
    from runner.playwright.warm_up import warm_up as warm_up_stage

    return warm_up_stage(parse_payload(event), environ)
