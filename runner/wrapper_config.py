"""The Playwright config the runner puts around the user's own (reporters, paths, one worker, Chromium) and its
per-unit settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class WrapperSettings:
    """What the generated config overrides in the user's config."""

    user_config: Path
    output_dir: Path
    blob_dir: Path
    blob_name: str
    result_reporter: Path
    forced_chromium: str | None
    fallback_chromium: str | None
    chromium_args: tuple[str, ...]
    output_dir_in_place: bool = False  # workers write into the user's outputDir, as Playwright's do
    omit_web_server: bool = False
    omit_global_hooks: bool = False
    use_override: Mapping[str, Any] | None = None
    web_server_override: Any = None
    # A warm browser server (runner/browser_server.py Endpoint.wrapper_settings()): a worker's Chromium launch
    # whose effective options are the server's connects to it instead (WARM_LAUNCH_MODULE); None: all launch.
    warm_browser: Mapping[str, Any] | None = None
    max_failures: int | None = None  # the run's failures left (maxFailures for this unit); None: the config's


# One file for every unit, so Playwright transpiles it once (its transform cache is keyed on a file's path
# and text); the unit's settings come from a JSON file named by SETTINGS_VARIABLE. Paths in a Playwright
# config are relative to the config's folder and the wrapper lives elsewhere, so it makes them absolute.
WRAPPER_CONFIG = Path(__file__).resolve().parent / "playwright" / "wrapper.config.cjs"
SETTINGS_VARIABLE = "HT_WRAPPER_SETTINGS"
# Loading the user's config and applying hypertest.yml's overrides: shared with the run session's config.
USER_CONFIG_MODULE = Path(__file__).resolve().parent / "playwright" / "user_config.cjs"
# The warm browser, decided in each worker at launch on the options Playwright launches with.
WARM_LAUNCH_MODULE = Path(__file__).resolve().parent / "playwright" / "warm_launch.cjs"
# Before 1.43 Playwright registers its ESM loader only by restarting itself, and only when the config file
# it is given is an ES module: then the generated config must be one too (an ES module twin of the file).
ESM_LOADER_ALWAYS_SINCE = (1, 43)


def module_twin(generated: Path, user_config: Path, cli: Path) -> Path:
    """The generated config to give Playwright: `generated` (CommonJS), or its `.mjs` twin when the user's
    config is an ES module and the project's Playwright (its CLI at `cli`) registers its ESM loader only for
    a config that is one."""
    if not is_es_module(user_config):
        return generated
    version = playwright_version(cli)
    if version is None or version >= ESM_LOADER_ALWAYS_SINCE:
        return generated
    return generated.with_name(generated.name.removesuffix(".cjs") + ".mjs")


def wrapper_config_for(user_config: Path, cli: Path) -> Path:
    """The wrapper config a unit runs with: WRAPPER_CONFIG, or its ES module twin (see module_twin)."""
    return module_twin(WRAPPER_CONFIG, user_config, cli)


def is_es_module(file: Path) -> bool:
    """Whether Node.js (and Playwright) load the file as an ES module: .mjs/.mts, or a .js/.ts file whose
    nearest package.json says `"type": "module"`."""
    if file.suffix in (".mjs", ".mts"):
        return True
    if file.suffix in (".cjs", ".cts"):
        return False
    for folder in file.parents:
        manifest = folder / "package.json"
        if manifest.is_file():
            try:
                document = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return False
            return isinstance(document, dict) and document.get("type") == "module"
    return False


def playwright_version(cli: Path) -> tuple[int, int] | None:
    """(major, minor) of the Playwright package whose CLI script is `cli`; None when unreadable."""
    try:
        document = json.loads((cli.parent / "package.json").read_text(encoding="utf-8"))
        major, minor = str(document["version"]).split(".")[:2]
        return int(major), int(minor)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def render_wrapper_settings(settings: WrapperSettings) -> str:
    """The JSON text of one unit's settings, which the wrapper config (WRAPPER_CONFIG) reads."""
    values = {
        "userConfig": str(settings.user_config),
        "userConfigModule": str(USER_CONFIG_MODULE),
        "warmLaunchModule": str(WARM_LAUNCH_MODULE),
        "outputDir": str(settings.output_dir),
        "blobDir": str(settings.blob_dir),
        "blobName": settings.blob_name,
        "resultReporter": str(settings.result_reporter),
        "forcedChromium": settings.forced_chromium,
        "fallbackChromium": settings.fallback_chromium,
        "chromiumArgs": list(settings.chromium_args),
        "outputDirInPlace": settings.output_dir_in_place,
        "omitWebServer": settings.omit_web_server,
        "omitGlobalHooks": settings.omit_global_hooks,
        "useOverride": dict(settings.use_override) if settings.use_override is not None else None,
        "webServerOverride": settings.web_server_override,
        "warmBrowser": dict(settings.warm_browser) if settings.warm_browser is not None else None,
        "maxFailures": settings.max_failures,
    }
    return json.dumps(values, ensure_ascii=True)
