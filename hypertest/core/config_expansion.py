"""`${VAR}` in hypertest.yml: each scalar expanded from the environment as the YAML is read, and the rule for
secrets: a secret's value may only be expanded where the tests and their web server get it, and is registered
for redaction wherever it is expanded."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml

from hypertest.core.env_expand import ExpansionError, expand, has_reference, is_whole_reference
from hypertest.core.redaction import register_secret
from hypertest.core.yaml_source import JsonPath, ScalarError, plain_scalar_value
from hypertest.core.yaml_where import dotted
from hypertest.errors import ConfigError
from runner.environment import SECRET_LOOKING, secret_values

# Where the value of a secret's variable may be expanded: into what the tests and their web server get. Anywhere
# else it would become part of a path, a folder's or a resource's name, a printed setting or a step output.
SECRET_DESTINATIONS = (("provider", "*", "environment"), ("testRunner", "use"), ("testRunner", "webServer"),
                       ("testRunner", "args"))


def expanding_hook(env: Mapping[str, str]) -> Callable[[str, yaml.ScalarNode, JsonPath], Any]:
    """The scalar hook of load_yaml that expands `${VAR}` from env (a ConfigError naming file:line:column and
    the key when a reference is bad, or a secret lands where it may not)."""
    known: list[frozenset[str]] = []  # the environment's secret values, looked up once when first needed

    def secret(name: str) -> bool:
        if SECRET_LOOKING.search(name):
            return True
        if not known:
            known.append(frozenset(secret_values(env)))
        return env.get(name, "").strip() in known[0]

    def hook(file: str, node: yaml.ScalarNode, at: JsonPath) -> Any:
        try:
            if not has_reference(node.value):
                return plain_scalar_value(node, node.value)
            used: list[str] = []
            text = expand(node.value, env, used)
            _check_secrets([name for name in dict.fromkeys(used) if secret(name)], env, at)
            # typed only when the value is exactly one reference: `1${N}` stays the string it expands to
            return plain_scalar_value(node, text, typed=is_whole_reference(node.value))
        except (ExpansionError, ScalarError) as exc:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
            raise ConfigError(f"{file}:{line}:{column}: {dotted(at)}: {exc}") from None

    return hook


def _check_secrets(names: list[str], env: Mapping[str, str], at: JsonPath) -> None:
    """Register the values of the secrets' variables expanded at `at` for redaction; an ExpansionError naming
    the variables (never their values) when `at` is not among SECRET_DESTINATIONS."""
    for name in names:
        register_secret(env[name])
    if names and not _secret_destination(at):
        variables = ", ".join(f"${{{name}}}" for name in names)
        holds = "holds a secret" if len(names) == 1 else "hold secrets"
        raise ExpansionError(f"{variables} {holds}, which this key would put into paths, names or printed output; "
                             "a secret may be expanded only inside provider.<type>.environment, testRunner.use, "
                             "testRunner.webServer or testRunner.args (what the tests and their web server get)")


def _secret_destination(at: JsonPath) -> bool:
    """Whether `at` lies inside one of SECRET_DESTINATIONS."""
    return any(len(at) > len(place) and all(part in ("*", key) for part, key in zip(place, at, strict=False))
               for place in SECRET_DESTINATIONS)
