"""Create or update the Lambda function to run an image, and wait until Lambda says it is ready."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.exceptions

from hypertest.errors import UsageError
from hypertest.providers.aws.settings import AwsSettings
from runner.environment import PASS_VARIABLE

WAITER = {"Delay": 2, "MaxAttempts": 300}


def function_settings(settings: AwsSettings) -> dict[str, Any]:
    """The configuration deploy gives the function (memory, timeout, /tmp, environment)."""
    return {
        "MemorySize": settings.memory_mb,
        "Timeout": settings.timeout_s,
        "EphemeralStorage": {"Size": settings.ephemeral_storage_mb},
        "Environment": {"Variables": {"HT_FUNCTION": settings.function_name, **settings.environment,
                                      # the runner keeps the function's credentials from the tests unless named
                                      **({PASS_VARIABLE: ",".join(sorted(settings.environment))}
                                         if settings.environment else {})}},
    }


def deploy_function(client: Any, settings: AwsSettings, image_uri: str, say: Callable[[str], None]) -> str:
    """Point the function at image_uri, creating it when missing; returns what was done."""
    name = settings.function_name
    try:
        current = client.get_function(FunctionName=name)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        current = None
    if current is None:
        if not settings.role_arn:
            raise UsageError(f"function {name!r} does not exist in {client.meta.region_name} and "
                             "provider.aws.roleArn is not set, so deploy cannot create it",
                             hint="set provider.aws.roleArn to an execution role (`hypertest init` writes "
                                  "its policy), or create the function yourself")
        say(f"creating function {name}")
        client.create_function(FunctionName=name, Role=settings.role_arn, PackageType="Image",
                               Code={"ImageUri": image_uri}, Architectures=[settings.architecture],
                               Description="hypertest runner", **function_settings(settings))
        client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER)
        return "created"
    config = current["Configuration"]
    if config.get("PackageType") != "Image":
        raise UsageError(f"function {name!r} exists but is a {config.get('PackageType')} function; "
                         "hypertest needs an Image function", hint="delete it, or choose another functionName")
    if (config.get("Architectures") or ["x86_64"])[0] != settings.architecture:
        say(f"note: the function's architecture changes to {settings.architecture}")
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER)
    say(f"updating function {name}: configuration")
    client.update_function_configuration(FunctionName=name, **function_settings(settings))
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER)
    if current.get("Code", {}).get("ImageUri") == image_uri and \
            (config.get("Architectures") or ["x86_64"])[0] == settings.architecture:
        return "configuration updated (same image)"
    say(f"updating function {name}: image")
    client.update_function_code(FunctionName=name, ImageUri=image_uri, Architectures=[settings.architecture])
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER)
    return "updated"
