"""`hypertest init` with hostile flags and a hostile folder: each is refused on one screen (exit 2, the flag or
file named, no traceback), nothing is written, and no policy ever gets a wildcard from a user-given name."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
Setup = Callable[[Path], None]


def _nothing(project: Path) -> None:
    pass


def _yml_links_outside(project: Path) -> None:
    (project.parent / "outside.yml").write_text("precious\n")
    (project / "hypertest.yml").symlink_to(project.parent / "outside.yml")


def _yml_dangling_link(project: Path) -> None:
    (project / "hypertest.yml").symlink_to(project.parent / "not-there.yml")


def _yml_is_a_folder(project: Path) -> None:
    (project / "hypertest.yml").mkdir()


def _iam_is_a_file(project: Path) -> None:
    (project / "iam").write_text("not a folder\n")


def _iam_links_outside(project: Path) -> None:
    (project.parent / "elsewhere").mkdir()
    (project / "iam").symlink_to(project.parent / "elsewhere")


def _policy_links_outside(project: Path) -> None:
    (project.parent / "victim.json").write_text("{}\n")
    (project / "iam").mkdir()
    (project / "iam" / "invoke-policy.json").symlink_to(project.parent / "victim.json")


def _policy_is_a_folder(project: Path) -> None:
    (project / "iam" / "deploy-policy.json").mkdir(parents=True)


AWS = ("init", "--provider", "aws")
LONG = "b" * 10_000

# (case id, the flags after `hypertest`, what the folder holds first, what the error must name)
CASES: list[tuple[str, tuple[str, ...], Setup, str]] = [
    ("bucket with a space", (*AWS, "--bucket", "BAD BUCKET"), _nothing, "--bucket 'BAD BUCKET'"),
    ("bucket too short", (*AWS, "--bucket", "ab"), _nothing, "--bucket 'ab'"),
    ("bucket too long", (*AWS, "--bucket", "a" * 64), _nothing, "--bucket"),
    ("bucket of 10,000 characters", (*AWS, "--bucket", LONG), _nothing, "--bucket"),
    ("bucket empty", (*AWS, "--bucket", ""), _nothing, "--bucket ''"),
    ("bucket uppercase", (*AWS, "--bucket", "My-Bucket"), _nothing, "--bucket 'My-Bucket'"),
    ("bucket underscore", (*AWS, "--bucket", "my_bucket"), _nothing, "--bucket"),
    ("bucket starts with a hyphen", (*AWS, "--bucket=-bucket"), _nothing, "--bucket"),
    ("bucket ends with a dot", (*AWS, "--bucket", "bucket."), _nothing, "--bucket"),
    ("bucket with adjacent dots", (*AWS, "--bucket", "my..bucket"), _nothing, "--bucket 'my..bucket'"),
    ("bucket is an IP address", (*AWS, "--bucket", "192.168.5.4"), _nothing, "--bucket '192.168.5.4'"),
    ("bucket prefix xn--", (*AWS, "--bucket", "xn--bucket"), _nothing, "--bucket"),
    ("bucket prefix sthree-", (*AWS, "--bucket", "sthree-bucket"), _nothing, "--bucket"),
    ("bucket prefix amzn-s3-demo-", (*AWS, "--bucket", "amzn-s3-demo-bucket"), _nothing, "--bucket"),
    ("bucket suffix -s3alias", (*AWS, "--bucket", "bucket-s3alias"), _nothing, "--bucket"),
    ("bucket suffix --ol-s3", (*AWS, "--bucket", "bucket--ol-s3"), _nothing, "--bucket"),
    ("bucket suffix .mrap", (*AWS, "--bucket", "bucket.mrap"), _nothing, "--bucket"),
    ("bucket suffix --x-s3", (*AWS, "--bucket", "bucket--x-s3"), _nothing, "--bucket"),
    ("bucket with a star", (*AWS, "--bucket", "team-*"), _nothing, "--bucket 'team-*'"),
    ("bucket with a question mark", (*AWS, "--bucket", "te?m"), _nothing, "--bucket"),
    ("bucket with a line break", (*AWS, "--bucket", "ok\n::error::pwned"), _nothing, "--bucket"),
    ("bucket with a path", (*AWS, "--bucket", "bucket/../other"), _nothing, "--bucket"),
    ("bucket for the local provider too", ("init", "--bucket", "BAD"), _nothing, "--bucket 'BAD'"),
    ("function with a star", (*AWS, "--function-name", "e2e*"), _nothing, "--function-name 'e2e*'"),
    ("function with a question mark", (*AWS, "--function-name", "e2e?"), _nothing, "--function-name"),
    ("function is a star", (*AWS, "--function-name", "*"), _nothing, "--function-name '*'"),
    ("function empty", (*AWS, "--function-name", ""), _nothing, "--function-name ''"),
    ("function too long", (*AWS, "--function-name", "f" * 65), _nothing, "--function-name"),
    ("function with a space", (*AWS, "--function-name", "my fn"), _nothing, "--function-name"),
    ("function with a slash", (*AWS, "--function-name", "fn/../admin"), _nothing, "--function-name"),
    # valid ECR repository names (a namespace, a dot), so only the Lambda rule refuses them
    ("function with a namespace slash", (*AWS, "--function-name", "team/fn"), _nothing, "--function-name 'team/fn'"),
    ("function with a dot", (*AWS, "--function-name", "my.fn"), _nothing, "--function-name 'my.fn'"),
    ("function is an ARN", (*AWS, "--function-name", "arn:aws:lambda:us-east-1:123456789012:function:x"),
     _nothing, "--function-name"),
    ("function with NUL", (*AWS, "--function-name", "fn\x00"), _nothing, "--function-name"),
    ("function with an escape", (*AWS, "--function-name", "fn\x1b[31m"), _nothing, "--function-name"),
    ("function non-ASCII", (*AWS, "--function-name", "fünf"), _nothing, "--function-name"),
    ("function whose ECR name is 1 char", (*AWS, "--function-name", "a"), _nothing, "--function-name 'a'"),
    ("function whose ECR name has --", (*AWS, "--function-name", "my--fn"), _nothing, "--function-name"),
    ("function whose ECR name starts with -", (*AWS, "--function-name=-fn"), _nothing, "--function-name"),
    ("function whose ECR name ends with _", (*AWS, "--function-name", "fn_"), _nothing, "--function-name"),
    ("function whose role name is too long", (*AWS, "--function-name", "f" * 60), _nothing, "--function-name"),
    ("region mars", (*AWS, "--region", "mars"), _nothing, "--region 'mars'"),
    ("region uppercase", (*AWS, "--region", "US-EAST-1"), _nothing, "--region"),
    ("region unknown area", (*AWS, "--region", "xx-east-1"), _nothing, "--region"),
    ("region unknown direction", (*AWS, "--region", "us-mars-1"), _nothing, "--region"),
    ("region two digits", (*AWS, "--region", "us-east-10"), _nothing, "--region"),
    ("region star", (*AWS, "--region", "*"), _nothing, "--region '*'"),
    ("region with a line break", (*AWS, "--region", "us-east-1\nprovider: evil"), _nothing, "--region"),
    ("region empty", (*AWS, "--region", ""), _nothing, "--region ''"),
    ("hypertest.yml links outside", (*AWS, "--force"), _yml_links_outside, "hypertest.yml"),
    ("hypertest.yml is a dangling link", AWS, _yml_dangling_link, "hypertest.yml"),
    ("hypertest.yml is a folder", (*AWS, "--force"), _yml_is_a_folder, "hypertest.yml"),
    ("iam is a file", AWS, _iam_is_a_file, "iam"),
    ("iam links outside", AWS, _iam_links_outside, "iam"),
    ("a policy file links outside", AWS, _policy_links_outside, "iam/invoke-policy.json"),
    ("a policy file is a folder", AWS, _policy_is_a_folder, "iam/deploy-policy.json"),
]


def _snapshot(root: Path) -> dict[str, tuple[str, Any]]:
    """Every entry below root: links by target, files by content, folders by name."""
    found: dict[str, tuple[str, Any]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = ("link", str(path.readlink()))
            elif path.is_dir():
                found[key] = ("dir", None)
            else:
                found[key] = ("file", path.read_bytes())
    return found


@pytest.mark.parametrize(("args", "setup", "named"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_hostile_init_is_refused_on_one_screen_and_writes_nothing(cli: Cli, tmp_path: Path, args: tuple[str, ...],
                                                                    setup: Setup, named: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "playwright.config.ts").write_text("export default {};\n")
    setup(project)
    before = _snapshot(tmp_path)
    result = cli(*args, cwd=project)
    output = result.out + result.err
    assert result.code == 2, output
    assert "Traceback" not in output
    assert named in result.err, result.err
    assert len(output.splitlines()) < 30
    assert max(len(line) for line in output.splitlines()) < 1000  # one screen, not one endless line
    assert _snapshot(tmp_path) == before, "init wrote something although it refused"


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 20


ACCOUNT_WIDE = {"ecr:GetAuthorizationToken", "lambda:GetAccountSettings", "servicequotas:GetServiceQuota"}
BELOW = {"s3": "/*", "logs": ":*"}  # the trailing wildcard of a resource type whose ARN names a container


def _wildcards(document: dict[str, Any]) -> list[str]:
    """The wildcards of a policy that do not belong to its structure: a '*' or '?' in a name, or a Resource of
    '*' on an action that AWS scopes to a resource."""
    found = []
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement.get("Resource", [])
        for resource in [resources] if isinstance(resources, str) else resources:
            if resource == "*":
                if not set(actions) <= ACCOUNT_WIDE:
                    found.append(f"{actions}: Resource '*'")
                continue
            _, partition, service, _region, _account, name = resource.split(":", 5)
            # the region and account are '*' by design; so are the objects below a key prefix (s3) and the
            # streams of a log group (logs)
            name = name.removesuffix(BELOW.get(service, "\0"))
            if any(char in part for char in "*?" for part in (partition, service, name)):
                found.append(resource)
        for values in statement.get("Condition", {}).get("StringLike", {}).values():
            found += [value for value in values if any(char in value.removesuffix("/*") for char in "*?")]
    return found


@pytest.mark.parametrize(("function", "bucket", "accepted"), [
    ("hypertest", "my-hypertest-artifacts", True),
    ("e2e_Checkout-2", "team.artifacts-1", True),
    ("F" * 55, "b" * 63, True),
    ("e2e*", "team-artifacts", False),
    ("e2e?", "team-artifacts", False),
    ("*", "team-artifacts", False),
    ("e2e", "team-*", False),
    ("e2e", "*", False),
    ("e2e", "te?m", False),
    ("e2e", "team/*", False),
])
def test_no_policy_gets_a_wildcard_from_a_name(cli: Cli, tmp_path: Path, function: str, bucket: str,
                                               accepted: bool) -> None:
    result = cli(*AWS, "--function-name", function, "--bucket", bucket, cwd=tmp_path)
    assert result.code == (0 if accepted else 2), result.err
    written = sorted((tmp_path / "iam").glob("*-policy.json")) if (tmp_path / "iam").is_dir() else []
    assert len(written) == (4 if accepted else 0)
    for path in written:
        document = json.loads(path.read_text())
        assert _wildcards(document) == [], path.name
    if accepted:  # the scan reads the resources built from the names
        resources = json.dumps([json.loads(p.read_text()) for p in written])
        assert f"function:{function}\"" in resources and f"arn:aws:s3:::{bucket}/" in resources


def test_the_wildcard_scan_finds_a_wildcard_in_a_name() -> None:
    from hypertest.providers.aws.iam import policies

    def scan(function: str, bucket: str, repository: str) -> list[str]:
        documents = policies(function, bucket, "hypertest", repository).values()
        return [found for document in documents for found in _wildcards(document)]

    assert scan("e2e", "team", "e2e") == []
    assert scan("e2e*", "team", "e2e") != []
    assert scan("e2e", "te?m", "e2e") != []
    assert scan("e2e", "team", "*") != []


@pytest.mark.parametrize(("function", "bucket", "region"), [
    ("true", "123", "us-east-1"),
    ("null", "1e5", "eu-central-2"),
    ("0x10", "1.5", "ap-southeast-4"),
    ("yes", "on1", "us-gov-west-1"),
    ("e2e", "team-artifacts", "cn-north-1"),
    ("e2e", "team-artifacts", "il-central-1"),
    ("e2e", "team-artifacts", "ca-west-1"),
    ("e2e", "team-artifacts", "mx-central-1"),
])
def test_names_yaml_would_retype_still_give_a_valid_starter(cli: Cli, tmp_path: Path, function: str, bucket: str,
                                                          region: str) -> None:
    (tmp_path / "playwright.config.ts").write_text("export default {};\n")
    result = cli(*AWS, "--function-name", function, "--bucket", bucket, "--region", region, cwd=tmp_path)
    assert result.code == 0, result.err
    validated = cli("validate", cwd=tmp_path)
    assert validated.code == 0, validated.err
    from hypertest.core.load import load_settings
    from hypertest.providers.aws.settings import run_aws_settings

    aws = run_aws_settings(load_settings(tmp_path / "hypertest.yml", tmp_path))
    assert (aws.function_name, aws.bucket, aws.region) == (function, bucket, region)
