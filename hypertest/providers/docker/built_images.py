"""The test images the docker provider built, found on the daemon by their labels: the key of what needs a
rebuild, and the hash of each file they hold (providers/test_bundle.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypertest.providers.test_bundle import Sources, sources_from_json

DEPLOY_KEY_LABEL = "dev.hypertest.deploy-key"
SOURCES_LABEL = "dev.hypertest.sources"


@dataclass(frozen=True)
class BuiltImage:
    """A test image on the daemon and the sources it was built from."""

    reference: str
    sources: Sources


def image_labels(sources: Sources) -> dict[str, str]:
    """The labels a test image is built with."""
    return {DEPLOY_KEY_LABEL: sources.deploy_key,
            SOURCES_LABEL: json.dumps(sources.to_json(), separators=(",", ":"), sort_keys=True)}


def built_image(client: Any, local: Sources) -> BuiltImage | None:
    """The built test image whose files differ least from local's, the newest of those: among the images built
    from the same dependencies, config, runner and base (whatever folder they were built from: a bundle carries
    every file that differs), a bundle over it runs local's tests; else, among all, its sources say why a build
    is needed, if it holds one file of local's at least. None: no such image."""
    same = _images(client, f"{DEPLOY_KEY_LABEL}={local.deploy_key}")
    candidates = same or [image for image in _images(client, DEPLOY_KEY_LABEL)
                          if any(local.files.get(name) == digest for name, digest in image.sources.files.items())]
    return min(candidates, key=lambda image: _differing(image.sources, local)) if candidates else None


def _differing(built: Sources, local: Sources) -> int:
    """How many files a bundle over built would carry or delete."""
    return sum(built.files.get(name) != digest for name, digest in local.files.items()) + \
        sum(name not in local.files for name in built.files)


def _images(client: Any, label: str) -> list[BuiltImage]:
    """The test images with a label, newest first, with the sources they were built from."""
    import docker.errors

    try:
        images = client.images.list(filters={"label": label})
    except docker.errors.APIError:
        return []  # the image is then built, which says what is wrong with the daemon
    found = []
    for image in sorted(images, key=lambda each: str(each.attrs.get("Created", "")), reverse=True):
        tags = sorted(tag for tag in image.tags if tag.startswith("hypertest-test:"))
        try:
            sources = sources_from_json(json.loads(image.labels.get(SOURCES_LABEL, "")))
        except ValueError:
            sources = None
        if tags and sources is not None:
            found.append(BuiltImage(reference=tags[0], sources=sources))
    return found
