"""The IAM documents `hypertest init --provider aws` writes into iam/: least-privilege policies for deploy,
invoke and the function's role, the function's trust policy, and the bucket's CORS rules. Invoke also keeps
the runs' history in the bucket (providers/aws/history.py): it lists, reads and writes below the prefix, and
deletes below <prefix>/history/ only (pruning a branch's oldest entries)."""

from __future__ import annotations

from typing import Any

# Lets the Playwright trace viewer (trace.playwright.dev) fetch the traces that presigned links point at.
BUCKET_CORS: dict[str, Any] = {"CORSRules": [{"AllowedOrigins": ["https://trace.playwright.dev"],
                                              "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
                                              "MaxAgeSeconds": 3600}]}


def _statement(actions: list[str], resources: list[str] | str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources, **extra}


def policies(function: str, bucket: str, prefix: str, repository: str) -> dict[str, dict[str, Any]]:
    """The IAM documents, by file name: deploy, invoke, and the function's own role and trust."""
    function_arn = f"arn:aws:lambda:*:*:function:{function}"
    below = f"{prefix.strip('/')}/" if prefix.strip("/") else ""  # keys below the prefix start with this
    objects = f"arn:aws:s3:::{bucket}/{below}*"
    history = f"arn:aws:s3:::{bucket}/{below}history/*"
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
            _statement(["s3:PutObject"], f"arn:aws:s3:::{bucket}/{below}manifests/*"),
        ),
        "invoke-policy.json": document(
            _statement(["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"], function_arn),
            _statement(["s3:GetObject", "s3:PutObject"], objects),
            _statement(["s3:DeleteObject"], history),
            _statement(["s3:ListBucket"], f"arn:aws:s3:::{bucket}",
                       Condition={"StringLike": {"s3:prefix": [f"{below}*"]}}),
            _statement(["lambda:GetAccountSettings", "servicequotas:GetServiceQuota"], "*"),
        ),
        "function-role-policy.json": document(
            _statement(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                       f"arn:aws:logs:*:*:log-group:/aws/lambda/{function}:*"),
            # units write artifacts, blobs and large results; they read test bundles (tests changed since the
            # deploy, <prefix>/bundles/) and the state earlier phases of their run saved (<prefix>/<run>/state/)
            _statement(["s3:GetObject", "s3:PutObject"], objects),
        ),
        "function-trust-policy.json": document(
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        ),
    }
