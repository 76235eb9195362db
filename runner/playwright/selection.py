"""How a unit tells the project's Playwright which tests to run, by what that Playwright's loader supports.

Playwright's `--test-list FILE` names tests by `[project] › file › title › ...` lines. It came in 1.56; in 1.56
and 1.57 a line selects only a test whose whole title path it names (a line naming a file or a describe selects
nothing), from 1.58 every test below the path it names. hypertest's units rely on the second reading (a file
whose titles no line can name exactly is selected by its file line), so a unit uses the test list only when the
installed loader matches lines as prefixes. The check reads that loader (Playwright ships it as plain
JavaScript): the CLI must offer `--test-list`, and the function behind "Cannot read test list file" must compare
title-path lengths with `<=`. Anything else, older or unrecognised, gets the form every release since 1.40
honours: `--grep` with one anchored regular expression over the title path Playwright greps (project, file,
describes and title joined by spaces, each suite's and the test's own tags after its title), with every
character outside a small safe set written as a `\\uXXXX` escape, so no title can change the pattern.

The pattern allows tags where Playwright puts them without knowing them, so it also selects a test in the same
file whose titles differ only by `@words` or by where spaces split them; `grep_key` gives such tests one key and
units.py keeps them in one unit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.payload import Selector, TestRef

TEST_LIST = "test-list"
GREP = "grep"
MAX_PATTERN_CHARS = 100_000  # Linux refuses a single argument past 128 KiB
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _,:;'\"!#%&=<>~`@-")
_TAGS = "(?: @[^ ]*)*"  # the tags Playwright's grep title puts after a suite's or the test's title
_LIST_OPTION = re.compile(rb"""["'`]--test-list <file>["'`]""")
_LIST_ERROR = b"Cannot read test list file"
_LENGTH_TEST = re.compile(rb"titlePath\.length\s*(<=|===)\s*[\w$]+\.length")


@dataclass(frozen=True)
class PlaywrightRun:
    """One unit's `playwright test`: what the command line gets, and what the host gets instead."""

    node: str
    cli: Path
    config: Path
    test_list: Path
    no_deps: bool
    retries: int | None
    grep: str | None = None  # the unit's tests selected by this --grep pattern instead of the test list

    def argv(self) -> list[str]:
        """The command line that runs the unit without a host."""
        chosen = ["--grep", self.grep] if self.grep is not None else ["--test-list", str(self.test_list)]
        argv = [self.node, str(self.cli), "test", "-c", str(self.config), *chosen]
        if self.no_deps:
            argv.append("--no-deps")
        if self.retries is not None:
            argv += ["--retries", str(self.retries)]
        return argv


class SelectionError(RuntimeError):
    """The unit's tests cannot be named to this Playwright (the message says why)."""


@dataclass(frozen=True)
class Selection:
    """The options that make `playwright test` run exactly a unit's tests."""

    form: str  # TEST_LIST or GREP
    options: tuple[str, ...]  # after `test -c CONFIG`; the test list's path is added by the caller
    list_text: str = ""  # the --test-list file's content (TEST_LIST only)
    grep: str = ""  # the --grep pattern (GREP only)


def select(cli: Path, tests: Sequence[TestRef], selectors: Sequence[Selector]) -> Selection:
    """The selection the installed Playwright honours exactly: its test list when it matches prefixes, else grep."""
    if prefix_test_list(cli):
        return Selection(TEST_LIST, (), "".join(selector.line() + "\n" for selector in selectors))
    pattern = grep_pattern(tests)
    if len(pattern) > MAX_PATTERN_CHARS:
        raise SelectionError(f"the unit's {len(tests)} tests need a --grep pattern of {len(pattern)} characters, "
                             f"more than one command-line argument may hold on this Playwright (no prefix-matching "
                             "--test-list before 1.58): use a smaller granularity")
    return Selection(GREP, ("--grep", pattern), grep=pattern)


def prefix_test_list(cli: Path) -> bool:
    """Whether the Playwright that `cli` runs offers --test-list and matches its lines as title-path prefixes."""
    package = playwright_package(cli)
    if package is None:
        return False
    try:
        stamp = (package / "package.json").stat().st_mtime_ns
    except OSError:
        return False
    return _reads_prefixes(str(package), stamp)


@functools.cache
def _reads_prefixes(package: str, _stamp: int) -> bool:
    offers_option = reads_prefixes = False
    for script in sorted(Path(package, "lib").rglob("*.js")):
        try:
            text = script.read_bytes()
        except OSError:
            continue
        offers_option = offers_option or bool(_LIST_OPTION.search(text))
        at = text.find(_LIST_ERROR)
        if at >= 0:
            comparisons = _LENGTH_TEST.findall(text[max(0, at - 4000):at])
            reads_prefixes = bool(comparisons) and all(operator == b"<=" for operator in comparisons)
    return offers_option and reads_prefixes


def playwright_package(cli: Path) -> Path | None:
    """The `playwright` package the project's command line runs (beside @playwright/test, or hoisted)."""
    if cli.parent.name == "playwright" and (cli.parent / "package.json").is_file():
        return cli.parent.resolve()
    for folder in (cli.parent, *cli.parents):
        candidate = folder / "node_modules" / "playwright"
        if (candidate / "package.json").is_file():
            return candidate.resolve()
    return None


def grep_pattern(tests: Sequence[TestRef]) -> str:
    """A `/.../` regular expression that Playwright's grep matches against exactly these tests' title paths
    (and those sharing their grep_key)."""
    alternatives = sorted({_one_test(test) for test in tests})
    return "/^ *(?:" + "|".join(alternatives) + ")$/"


def _one_test(test: TestRef) -> str:
    parts = [test.project, test.file, *test.title_path]
    return " ".join(_literal(part) + _TAGS for part in parts)


def grep_key(title_path: Sequence[str]) -> str:
    """What the grep pattern of a test cannot tell apart within its project and file: its titles joined by
    spaces, without the words that start with `@`."""
    return " ".join(word for word in " ".join(title_path).split(" ") if not word.startswith("@"))


def _literal(text: str) -> str:
    """text as a JavaScript regular expression matching exactly it: safe characters as themselves, every other
    UTF-16 code unit (regex syntax, slashes, line breaks, non-ASCII, lone surrogates) as a \\uXXXX escape."""
    raw = text.encode("utf-16-le", "surrogatepass")
    out = []
    for index in range(0, len(raw), 2):
        unit = raw[index] | raw[index + 1] << 8
        out.append(chr(unit) if chr(unit) in _SAFE else f"\\u{unit:04x}")
    return "".join(out)
