"""`hypertest init`: a commented starter hypertest.yml, and the documents the chosen provider adds (aws: its
least-privilege IAM policies)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TextIO

from hypertest.core.config import load_schema
from hypertest.core.registry import provider_starter
from hypertest.core.schema_defaults import schema_at
from hypertest.errors import ExitCode, UsageError
from hypertest.reporters.console import printable

STARTER = """# hypertest configuration. Check it with `hypertest validate`; every key is optional and documented
# in schema/hypertest.schema.json. Strings may use ${{VAR}} and ${{VAR:-default}}.
version: 1

testRunner:
  type: playwright
  config: {playwright_config}
  # projects: [chromium]        # only these Playwright projects
  granularity: {granularity}             # one invocation per test (serial groups stay together) | file | auto
  # retries: 1                  # default: the Playwright config's retries
  # grep: "@smoke"              # JavaScript regular expression on the full title
  # tags: ["@smoke"]

provider:
  type: {provider}                   # local: processes on this machine | aws: one Lambda invocation per unit
  #                                 | docker: Lambda's runtime contract on this machine, with deploy's image
  aws:
    region: {region}
    functionName: {function}
    bucket: {bucket}        # artifacts, reports and the deploy manifest
    prefix: {prefix}
    # roleArn: arn:aws:iam::123456789012:role/hypertest-function   # lets deploy create the function
    # pythonImage: {python_image}   # deploy builds the runner base image (runner/Dockerfile) on it
    # baseImage: {base_image}   # or a runner base image of your own
    memory: {memory}
    timeout: {timeout}                # seconds (Lambda's maximum)
    ephemeralStorage: {ephemeralStorage}
    architecture: {architecture}        # x86_64 | arm64
    drift: {drift}                 # invoke when local tests differ from the deployed ones: warn | error | ignore
  docker:                       # the image aws would run, in emulated Lambda sandboxes on this Docker daemon
    memory: {memory}
    timeout: {timeout}
    ephemeralStorage: {ephemeralStorage}

concurrency: ${{HT_CONCURRENCY:-{concurrency}}}
output: {output}
reporters: {reporters}
failOnFlaky: {failOnFlaky}
passWithNoTests: {passWithNoTests}
"""


def _schema_defaults() -> dict[str, str]:
    """The starter's values that are the schema's defaults, written as YAML (JSON is YAML)."""
    schema = load_schema()
    values = {key: schema_at(schema, *path)["default"] for key, path in (
        ("granularity", ("testRunner", "granularity")), ("prefix", ("provider", "aws", "prefix")),
        ("memory", ("provider", "aws", "memory")), ("timeout", ("provider", "aws", "timeout")),
        ("ephemeralStorage", ("provider", "aws", "ephemeralStorage")),
        ("architecture", ("provider", "aws", "architecture")), ("drift", ("provider", "aws", "drift")),
        ("python_image", ("provider", "aws", "pythonImage")),
        ("output", ("output",)), ("reporters", ("reporters",)), ("failOnFlaky", ("failOnFlaky",)),
        ("passWithNoTests", ("passWithNoTests",)))}
    return {key: value if isinstance(value, str) else json.dumps(value).replace('", "', ", ").replace('"', "")
            for key, value in values.items()}


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_FUNCTION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ROLE_SUFFIX = "-function"  # the function's role, named in the deploy policy's iam:PassRole
_IAM_ROLE_MAX = 64
_REPOSITORY = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_REGION = re.compile(r"(?:us-gov|us-iso|us-isob|us-isof|eu-isoe|us|eu|ap|sa|ca|me|af|il|mx|cn)"
                     r"-(?:central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9]")
_PLAYWRIGHT_CONFIG = re.compile(r"playwright\.config\.(?:ts|js|mts|mjs|cts|cjs)")


def _shown(value: str) -> str:
    """value quoted for an error message: escaped by repr, and cut short when long."""
    if len(value) <= 80:
        return repr(value)
    return f"{value[:80]!r}... ({len(value)} characters)"


def _bucket_problem(bucket: str) -> str | None:
    if not _BUCKET.fullmatch(bucket):
        return ("an S3 bucket name has 3 to 63 lowercase letters, digits, dots and hyphens, "
                "and starts and ends with a letter or digit")
    if ".." in bucket:
        return "an S3 bucket name has no two adjacent dots"
    if _IP_ADDRESS.fullmatch(bucket):
        return "an S3 bucket name is not formatted as an IP address"
    if bucket.startswith(_BUCKET_PREFIXES):
        return f"S3 reserves the prefixes {', '.join(_BUCKET_PREFIXES)}"
    if bucket.endswith(_BUCKET_SUFFIXES):
        return f"S3 reserves the suffixes {', '.join(_BUCKET_SUFFIXES)}"
    return None


def _function_problem(function: str) -> str | None:
    if not _FUNCTION.fullmatch(function):
        return "a Lambda function name has 1 to 64 letters, digits, hyphens and underscores"
    if len(function) + len(_ROLE_SUFFIX) > _IAM_ROLE_MAX:
        return (f"at most {_IAM_ROLE_MAX - len(_ROLE_SUFFIX)} characters, so that its role "
                f"<name>{_ROLE_SUFFIX} fits IAM's {_IAM_ROLE_MAX}")
    repository = function.lower()
    if not (2 <= len(repository) <= 256 and _REPOSITORY.fullmatch(repository)):
        return (f"the ECR repository named after it, {repository!r}, must have 2 to 256 characters, "
                "and hyphens, underscores and dots only between letters or digits")
    return None


def check_names(*, function: str, bucket: str, region: str) -> None:
    """Refuse (UsageError naming the flag) a name AWS would refuse, or one that would widen a policy."""
    problems = [
        ("--bucket", bucket, _bucket_problem(bucket)),
        ("--function-name", function, _function_problem(function)),
        ("--region", region, None if _REGION.fullmatch(region)
         else "expected a region name such as us-east-1, eu-central-2 or us-gov-west-1"),
    ]
    for flag, value, problem in problems:
        if problem:
            raise UsageError(f"{flag} {_shown(value)}: {problem}")


def _check_writable(path: Path, what: str) -> None:
    """Refuse to write a file through a link, or over something that is not a regular file."""
    if path.is_symlink():
        raise UsageError(f"{path}: {what} is a symbolic link; hypertest init writes no file through one",
                         hint="remove the link, or run init in another folder")
    if path.exists() and not path.is_file():
        raise UsageError(f"{path}: {what} exists and is not a regular file", hint="move it away first")


def _write(path: Path, text: str) -> None:
    """Write text to path, never following a symbolic link placed there meanwhile."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def _yaml_string(value: str) -> str:
    """value as a double-quoted YAML scalar (JSON's quoting), so '123' or 'true' stays a string."""
    return json.dumps(value)


def run_init(folder: Path, out: TextIO, *, provider: str, function: str, bucket: str, region: str,
             force: bool) -> int:
    """Check the names, then write hypertest.yml (and, for aws, iam/*.json) into folder."""
    check_names(function=function, bucket=bucket, region=region)
    target = folder / "hypertest.yml"
    _check_writable(target, "hypertest.yml")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists", hint="pass --force to overwrite it")
    starter = provider_starter(provider, function=function, bucket=bucket)
    documents = starter.documents
    extra = folder / (starter.folder or ".")
    if documents and (extra.is_symlink() or (extra.exists() and not extra.is_dir())):
        raise UsageError(f"{extra}: the {starter.folder} path exists and is not a folder (the policies go in "
                         f"{starter.folder}/)", hint="move it away first")
    for name in documents:
        _check_writable(extra / name, f"{starter.folder}/{name}")
    configs = sorted(p.name for p in folder.glob("playwright.config.*") if _PLAYWRIGHT_CONFIG.fullmatch(p.name))
    text = STARTER.format(playwright_config=configs[0] if configs else "playwright.config.ts", provider=provider,
                          region=_yaml_string(region), function=_yaml_string(function), bucket=_yaml_string(bucket),
                          concurrency=starter.concurrency,
                          base_image="<account>.dkr.ecr.<region>.amazonaws.com/hypertest-base:x86_64",
                          **_schema_defaults())
    try:
        _write(target, text)
        out.write(printable(f"wrote {target}") + "\n")
        if documents:
            extra.mkdir(exist_ok=True)
        for name, document in documents.items():
            _write(extra / name, json.dumps(document, indent=2) + "\n")
            out.write(printable(f"wrote {extra / name}") + "\n")
    except OSError as exc:
        raise UsageError(f"{exc.filename or folder}: cannot write it ({exc.strerror or exc})") from None
    if documents and starter.next_steps:
        out.write(starter.next_steps + "\n")
    return int(ExitCode.OK)
