#!/usr/bin/env bash
# Build (and push) the base runner image for one architecture as a single-platform image.
# Usage: bash runner/build-base.sh x86_64|arm64 REFERENCE [--push]
set -euo pipefail
arch="${1:?architecture: x86_64 or arm64}"
reference="${2:?image reference, e.g. <registry>/hypertest-base:x86_64}"
case "$arch" in
  x86_64) platform=linux/amd64 ;;
  arm64) platform=linux/arm64 ;;
  *) echo "error: architecture must be x86_64 or arm64, not $arch" >&2; exit 2 ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if docker buildx version >/dev/null 2>&1; then
  # buildx would add provenance attestations and an index: Lambda accepts neither.
  docker buildx build --platform "$platform" --provenance=false --sbom=false --output type=docker \
    -f runner/Dockerfile -t "$reference" .
else
  docker build --platform "$platform" -f runner/Dockerfile -t "$reference" .
fi
if [ "${3:-}" = "--push" ]; then
  docker push "$reference"
fi
