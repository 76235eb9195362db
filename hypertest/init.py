"""`hypertest init`: a commented starter hypertest.yml and least-privilege IAM policy documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from hypertest.errors import ExitCode, UsageError

STARTER = """# hypertest configuration. Check it with `hypertest validate`; every key is optional and documented
# in schema/hypertest.schema.json. Strings may use ${{VAR}} and ${{VAR:-default}}.
version: 1

testRunner:
  type: playwright
  config: {playwright_config}
  # projects: [chromium]        # only these Playwright projects
  granularity: test             # one invocation per test (serial groups stay together) | file
  # retries: 1                  # default: the Playwright config's retries
  # grep: "@smoke"              # JavaScript regular expression on the full title
  # tags: ["@smoke"]

provider:
  type: {provider}                   # local: processes on this machine | aws: one Lambda invocation per unit
  aws:
    region: {region}
    functionName: {function}
    bucket: {bucket}          # artifacts, reports and the deploy manifest
    prefix: hypertest
    # roleArn: arn:aws:iam::123456789012:role/hypertest-function   # lets deploy create the function
    baseImage: {base_image}
    memory: 4096
    timeout: 900                # seconds (Lambda's maximum)
    ephemeralStorage: 2048
    architecture: x86_64        # x86_64 | arm64
    drift: warn                 # invoke when local tests differ from the deployed ones: warn | error | ignore

concurrency: ${{HT_CONCURRENCY:-{concurrency}}}
output: hypertest-results
reporters: [console, junit, html]
failOnFlaky: false
passWithNoTests: false
"""


def _statement(actions: list[str], resources: list[str] | str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources, **extra}


def policies(function: str, bucket: str, prefix: str, repository: str) -> dict[str, dict[str, Any]]:
    """The IAM documents, by file name: deploy, invoke, and the function's own role and trust."""
    function_arn = f"arn:aws:lambda:*:*:function:{function}"
    objects = f"arn:aws:s3:::{bucket}/{prefix}/*"
    role_arn = f"arn:aws:iam::*:role/{function}-function"

    def document(*statements: dict[str, Any]) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": list(statements)}

    return {
        "deploy-policy.json": document(
            _statement(["ecr:GetAuthorizationToken"], "*"),
            _statement(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
                        "ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer",
                        "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"],
                       f"arn:aws:ecr:*:*:repository/{repository}"),
            _statement(["lambda:CreateFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
                        "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"], function_arn),
            _statement(["iam:PassRole"], role_arn,
                       Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
            _statement(["s3:PutObject"], f"arn:aws:s3:::{bucket}/{prefix}/manifests/*"),
        ),
        "invoke-policy.json": document(
            _statement(["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"], function_arn),
            _statement(["s3:GetObject", "s3:PutObject"], objects),
            _statement(["s3:ListBucket"], f"arn:aws:s3:::{bucket}",
                       Condition={"StringLike": {"s3:prefix": [f"{prefix}/*"]}}),
            _statement(["lambda:GetAccountSettings", "servicequotas:GetServiceQuota"], "*"),
        ),
        "function-role-policy.json": document(
            _statement(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                       f"arn:aws:logs:*:*:log-group:/aws/lambda/{function}:*"),
            _statement(["s3:PutObject"], objects),
        ),
        "function-trust-policy.json": document(
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        ),
    }


def run_init(folder: Path, out: TextIO, *, provider: str, function: str, bucket: str, region: str,
             force: bool) -> int:
    """Write hypertest.yml (and, for aws, iam/*.json) into folder."""
    target = folder / "hypertest.yml"
    if target.exists() and not force:
        raise UsageError(f"{target} already exists", hint="pass --force to overwrite it")
    configs = sorted(p.name for p in folder.glob("playwright.config.*"))
    text = STARTER.format(playwright_config=configs[0] if configs else "playwright.config.ts", provider=provider,
                          region=region, function=function, bucket=bucket, concurrency=4 if provider == "local"
                          else 100, base_image="<account>.dkr.ecr.<region>.amazonaws.com/hypertest-base:latest")
    target.write_text(text, encoding="utf-8")
    out.write(f"wrote {target}\n")
    if provider == "aws":
        iam = folder / "iam"
        iam.mkdir(exist_ok=True)
        for name, document in policies(function, bucket, "hypertest", function.lower()).items():
            (iam / name).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            out.write(f"wrote {iam / name}\n")
        out.write("next: create the function's role with iam/function-trust-policy.json and "
                  "iam/function-role-policy.json, set provider.aws.roleArn and baseImage, then `hypertest doctor`\n")
    return int(ExitCode.OK)
