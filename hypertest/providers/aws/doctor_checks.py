"""What `hypertest doctor` checks for the AWS provider: credentials, repository, function, bucket, the runs'
history in it, quota, Docker."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import botocore.exceptions

from hypertest.core.config import Settings
from hypertest.core.contracts import Check
from hypertest.errors import HypertestError

LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"
TRACE_VIEWER_ORIGIN = "https://trace.playwright.dev"


def aws_checks(settings: Settings, env: Mapping[str, str]) -> list[Check]:
    """Each AWS check, probed against the account the credentials reach."""
    from hypertest.providers.aws.clients import AwsClients
    from hypertest.providers.aws.settings import run_aws_settings

    try:
        aws = run_aws_settings(settings)
        clients = AwsClients(aws, settings.concurrency)
    except HypertestError as exc:
        return [Check("AWS configuration", "error", exc.message, exc.hint)]
    checks = [Check("region", "ok", clients.region)]
    probes: list[tuple[str, Callable[[], Check]]] = [
        ("credentials", lambda: _identity(clients)),
        ("ECR repository", lambda: _repository(clients, aws)),
        ("Lambda function", lambda: _function(clients, aws)),
        ("S3 bucket", lambda: _bucket(clients, aws)),
        ("bucket CORS", lambda: _cors(clients, aws)),
        ("run history", lambda: _history(clients, aws, settings)),
        ("deployed tests", lambda: _deployed_tests(clients, aws, settings)),
        ("concurrency quota", lambda: _quota(clients, settings.concurrency)),
        ("Docker daemon", lambda: _docker(env)),
    ]
    for name, probe in probes:
        try:
            checks.append(probe())
        except botocore.exceptions.NoCredentialsError:
            checks.append(Check(name, "error", "no AWS credentials found",
                                "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or OIDC web identity"))
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            checks.append(Check(name, "error", f"{error.get('Code')}: {error.get('Message')}",
                                "check the credentials and the IAM policies `hypertest init` writes"))
        except botocore.exceptions.BotoCoreError as exc:
            checks.append(Check(name, "error", str(exc), "check the network and endpoints"))
    return checks


def _identity(clients: Any) -> Check:
    identity = clients.client("sts").get_caller_identity()
    return Check("credentials", "ok", f"account {identity['Account']} as {identity['Arn']}")


def _repository(clients: Any, aws: Any) -> Check:
    try:
        found = clients.client("ecr").describe_repositories(repositoryNames=[aws.repository_name])
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
            return Check("ECR repository", "warn", f"{aws.repository_name} does not exist yet",
                         "`hypertest deploy` creates it")
        raise
    return Check("ECR repository", "ok", found["repositories"][0]["repositoryUri"])


def _function(clients: Any, aws: Any) -> Check:
    try:
        config = clients.client("lambda").get_function_configuration(FunctionName=aws.function_name)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        if aws.role_arn:
            return Check("Lambda function", "warn", f"{aws.function_name} does not exist yet",
                         "`hypertest deploy` creates it")
        return Check("Lambda function", "error", f"{aws.function_name} does not exist and roleArn is not set",
                     "set provider.aws.roleArn so deploy can create it")
    wanted = {"Timeout": aws.timeout_s, "MemorySize": aws.memory_mb,
              "EphemeralStorage": aws.ephemeral_storage_mb}
    actual = {"Timeout": config.get("Timeout"), "MemorySize": config.get("MemorySize"),
              "EphemeralStorage": (config.get("EphemeralStorage") or {}).get("Size")}
    differ = [f"{key} {actual[key]} (config: {value})" for key, value in wanted.items() if actual[key] != value]
    state, update = config.get("State") or "Active", config.get("LastUpdateStatus") or "Successful"
    if state == "Failed" or update == "Failed":
        return Check("Lambda function", "error", f"{aws.function_name}: State {state}, last update {update} "
                     f"({config.get('StateReason') or config.get('LastUpdateStatusReason')})",
                     "fix the cause and run `hypertest deploy` again")
    if (state, update) != ("Active", "Successful"):
        return Check("Lambda function", "warn", f"{aws.function_name}: State {state}, last update {update}",
                     "invoke waits for it (and wakes an Inactive function)")
    if differ:
        return Check("Lambda function", "warn", f"{aws.function_name}: " + ", ".join(differ),
                     "`hypertest deploy` applies the configured values")
    return Check("Lambda function", "ok", f"{aws.function_name}: timeout {actual['Timeout']} s, "
                 f"{actual['MemorySize']} MB, /tmp {actual['EphemeralStorage']} MB")


def _bucket(clients: Any, aws: Any) -> Check:
    try:
        answer = clients.client("s3").head_bucket(Bucket=aws.bucket)
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        fixes = {"404": ("does not exist", "create it, or fix provider.aws.bucket"),
                 "403": ("access denied", "grant s3:ListBucket, s3:GetObject and s3:PutObject on it")}
        problem, fix = fixes.get(code, (code, "check the bucket"))
        return Check("S3 bucket", "error", f"{aws.bucket}: {problem}", fix)
    region = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    if region and region != clients.region:
        return Check("S3 bucket", "error", f"{aws.bucket} is in {region}, the function in {clients.region}",
                     "use a bucket in the function's region")
    return Check("S3 bucket", "ok", aws.bucket)


def _history(clients: Any, aws: Any, settings: Settings) -> Check:
    """The runs' history (providers/aws/history.py) can be listed; invoke goes on without it if not, so a warning."""
    from hypertest.providers.aws.history import S3History

    store = S3History(clients.client("s3"), aws.bucket, aws.prefix)
    if not settings.history.enabled:
        return Check("run history", "ok", f"off (history.enabled: false); it would live in {store.where}")
    try:
        listing = clients.client("s3").list_objects_v2(Bucket=aws.bucket, Prefix=f"{store.folder}/",
                                                       Delimiter="/", MaxKeys=1000)
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        return Check("run history", "warn", f"cannot list {store.where} ({error.get('Code')}: "
                     f"{error.get('Message') or 'refused'}): runs will go without it",
                     f"allow s3:ListBucket on {aws.bucket} (prefix {store.folder}/*), s3:GetObject and "
                     f"s3:PutObject on {store.folder}/*, s3:DeleteObject on {store.folder}/* "
                     "(iam/invoke-policy.json)")
    branches = len(listing.get("CommonPrefixes", []))
    more = "+" if listing.get("IsTruncated") else ""
    return Check("run history", "ok", f"{store.where}: {branches}{more} branch folder{'s' * (branches != 1)}, "
                 f"{settings.history.runs} runs kept per branch")


def _deployed_tests(clients: Any, aws: Any, settings: Settings) -> Check:
    """Whether invoke runs the local tests as deployed, ships them as a test bundle, or needs a deploy first."""
    from hypertest.core.sources import output_skip, sources_hash
    from hypertest.errors import UsageError
    from hypertest.providers.aws.manifest import aws_built_from, read_manifest
    from hypertest.providers.test_bundle import compare, deploy_input_names, project_sources

    name = "deployed tests"
    try:
        manifest = read_manifest(clients.client("s3"), aws)
    except UsageError as exc:
        return Check(name, "error", exc.message, exc.hint)
    if manifest is None:
        return Check(name, "warn", "nothing deployed yet (no manifest)", "`hypertest deploy` builds and deploys them")
    config = settings.test_runner.config
    project, skip = config.parent, output_skip(settings.output, config.parent)
    as_deployed = f"the local tests are the ones deployed at {manifest.deployed_at}"
    local = project_sources(settings.test_runner.type, project, config, aws_built_from(aws), skip)
    if local is None or manifest.sources is None:  # a deploy older than test bundles
        same = manifest.sources_hash == sources_hash(project, skip)
        return Check(name, "ok", as_deployed) if same else Check(
            name, "warn", f"the local tests differ from those deployed at {manifest.deployed_at}",
            "`hypertest deploy` again")
    change = compare(manifest.sources, local,
                     deploy_inputs=deploy_input_names(settings.test_runner.type, project, config))
    if change.kind == "tests" and aws.test_bundles:
        return Check(name, "ok", f"{change.describe()}: invoke ships them as a test bundle, no deploy needed")
    if change.kind == "same":
        return Check(name, "ok", as_deployed)
    hint = "set provider.aws.testBundles: true, or `hypertest deploy`" if change.kind == "tests" else \
        "`hypertest deploy` (the action: command deploy-and-invoke)"
    return Check(name, "warn", change.describe(), hint)


def _cors(clients: Any, aws: Any) -> Check:
    """Trace links open in the Playwright trace viewer only if the bucket lets its origin GET them."""
    fix = (f"aws s3api put-bucket-cors --bucket {aws.bucket} --cors-configuration file://iam/bucket-cors.json "
           "(written by `hypertest init --provider aws`)")
    try:
        rules = clients.client("s3").get_bucket_cors(Bucket=aws.bucket).get("CORSRules", [])
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchCORSConfiguration":
            raise
        rules = []
    for rule in rules:
        origins, methods = rule.get("AllowedOrigins", []), rule.get("AllowedMethods", [])
        if "GET" in methods and any(origin in ("*", TRACE_VIEWER_ORIGIN) for origin in origins):
            return Check("bucket CORS", "ok", f"{TRACE_VIEWER_ORIGIN} may GET the traces")
    return Check("bucket CORS", "warn", f"{aws.bucket} does not let {TRACE_VIEWER_ORIGIN} GET objects, so trace "
                 "links will not open in the trace viewer", fix)


def _quota(clients: Any, concurrency: int) -> Check:
    try:
        quota = clients.client("service-quotas").get_service_quota(
            ServiceCode="lambda", QuotaCode=LAMBDA_CONCURRENCY_QUOTA)["Quota"]["Value"]
    except (botocore.exceptions.ClientError, KeyError):
        try:
            quota = clients.client("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
        except (botocore.exceptions.ClientError, KeyError):
            return Check("concurrency quota", "warn", "cannot read the Lambda concurrency quota",
                         "allow servicequotas:GetServiceQuota or lambda:GetAccountSettings")
    if concurrency > quota:
        return Check("concurrency quota", "warn", f"concurrency {concurrency} is above the account's "
                     f"{int(quota)} concurrent executions: the rest will be throttled",
                     f"lower concurrency, or ask for more (Service Quotas, {LAMBDA_CONCURRENCY_QUOTA})")
    return Check("concurrency quota", "ok", f"concurrency {concurrency} of {int(quota)}")


def _docker(env: Mapping[str, str]) -> Check:
    from hypertest.providers.test_image import docker_client

    try:
        client = docker_client(env)
    except HypertestError as exc:
        return Check("Docker daemon", "warn", exc.message, "needed by `hypertest deploy` only: start Docker")
    return Check("Docker daemon", "ok", f"Docker {client.version().get('Version', '?')}")
