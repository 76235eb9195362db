"""The document list_reporter.cjs writes during discovery (`playwright test --list`), key by key: what it
writes is what discovery.py and run_level.py read (tests/test_result_model.py holds both the reporter's
real output and the keys the readers use to these types)."""

from __future__ import annotations

from typing import TypedDict


class ListedTest(TypedDict):
    """One test as Playwright resolved it."""

    project: str
    file: str  # relative to rootDir, with forward slashes
    line: int
    column: int
    titlePath: list[str]  # describes and title, below the file
    tags: list[str]
    expectedStatus: str
    repeatEachIndex: int
    serialGroup: str | None  # the outermost serial describe, as a JSON text; None when not in one


class ListedProject(TypedDict):
    """One project of the resolved config."""

    name: str
    outputDir: str
    dependencies: list[str]
    teardown: str | None
    repeatEach: int
    retries: int
    timeout: int
    browserName: str
    executablePath: str | None
    workers: int | None  # the project's own limit on tests at once (Playwright 1.52+); None: none


class ListedWebServer(TypedDict):
    """One webServer entry."""

    command: str
    url: str | None
    port: int | None


class ListedRunLevel(TypedDict):
    """What Playwright starts once per run."""

    webServers: list[ListedWebServer]
    globalSetups: list[str]
    globalTeardowns: list[str]
    maxFailures: int  # the config's maxFailures; 0: none


class ListedLocation(TypedDict):
    """Where a load error happened."""

    file: str
    line: int
    column: int


class ListedError(TypedDict):
    """An error loading the config or a test file."""

    message: str
    location: ListedLocation | None


class Listing(TypedDict):
    """The whole document."""

    playwrightVersion: str
    rootDir: str
    configFile: str | None
    projects: list[ListedProject]
    runLevel: ListedRunLevel
    tests: list[ListedTest]
    errors: list[ListedError]
