"""The environment a test process gets: the caller's, without the secrets that belong to the machinery.

Withheld from every process that runs the user's code (the Playwright config, global setup, web server,
tests): the action's inputs (INPUT_*, among them the GitHub token), the Actions runtime's tokens and
URLs (ACTIONS_*), GITHUB_TOKEN/GH_TOKEN, AWS credentials, and the workflow's command files (GITHUB_ENV,
GITHUB_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_STATE). A user passes one of them on purpose by
naming it in `provider.<type>.environment`; those names reach the runner in HT_PASS_ENV.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

WITHHELD_PREFIXES = ("INPUT_", "ACTIONS_")
WITHHELD_NAMES = frozenset({
    "GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
    # the workflow's command files: a test that writes them sets variables and PATH entries for the job's later
    # steps, or forges the step's outputs, summary and state
    "GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE",
})
PASS_VARIABLE = "HT_PASS_ENV"  # noqa: S105 (a variable name) comma-separated names passed on purpose
# Names whose values are secrets when rendering, whether or not they reach the tests.
SECRET_LOOKING = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY",
                            re.IGNORECASE)


def withheld(name: str) -> bool:
    """Whether a variable of this name is kept from test processes unless passed on purpose."""
    return name in WITHHELD_NAMES or name.startswith(WITHHELD_PREFIXES)


def passed_names(environ: Mapping[str, str]) -> frozenset[str]:
    """The names the user's config passes on purpose (from HT_PASS_ENV)."""
    return frozenset(name.strip() for name in environ.get(PASS_VARIABLE, "").split(",") if name.strip())


def child_environment(environ: Mapping[str, str], configured: Mapping[str, str] | None = None,
                     passed: Iterable[str] = ()) -> dict[str, str]:
    """environ without the withheld variables (but those named in passed or HT_PASS_ENV), with configured
    laid over it; HT_PASS_ENV then names every configured variable, for the runner's own filtering."""
    keep = passed_names(environ) | frozenset(passed) | frozenset(configured or {})
    env = {name: value for name, value in environ.items() if name in keep or not withheld(name)}
    env.update(configured or {})
    if keep:
        env[PASS_VARIABLE] = ",".join(sorted(keep))
    return env


def project_folder(env: Mapping[str, str], project_dir: str) -> Path:
    """The payload's project folder: relative ones are below HT_PROJECT_ROOT, else Lambda's task root
    (LAMBDA_TASK_ROOT, whatever the image's working folder is), else the working folder."""
    base = env.get("HT_PROJECT_ROOT") or env.get("LAMBDA_TASK_ROOT") or "."
    return Path(base, project_dir).resolve()


def with_writable_home(env: dict[str, str], fallback: Path) -> dict[str, str]:
    """env with HOME at fallback when its HOME is unset or not writable (on Lambda only /tmp is)."""
    home = env.get("HOME", "")
    if not home or not os.access(home, os.W_OK):
        env["HOME"] = str(fallback)
    return env


def secret_values(environ: Mapping[str, str], minimum_length: int = 8) -> list[str]:
    """The values in environ that are secrets by their variable's name (tokens, keys, passwords), longest
    first; short values, which would match ordinary words, are left out."""
    values = {value.strip() for name, value in environ.items()
              if SECRET_LOOKING.search(name) and len(value.strip()) >= minimum_length}
    return sorted(values, key=len, reverse=True)


_ON_WORDS = ("1", "true", "yes", "on")
_OFF_WORDS = ("0", "false", "no", "off")


def switch_on(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    """Whether hypertest's switch name is on: a switch on by default is on unless it says 0/false/no/off, one
    off by default is off unless it says 1/true/yes/on."""
    value = environ.get(name, "1" if default else "0").strip().lower()
    return value not in _OFF_WORDS if default else value in _ON_WORDS


def bounded_int(environ: Mapping[str, str], name: str, *, minimum: int, default: int) -> int:
    """The integer in name, at least minimum; default when it is unset or not an integer."""
    try:
        return max(minimum, int(environ.get(name, "")))
    except ValueError:
        return default
