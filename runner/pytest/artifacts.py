"""Store a pytest unit's files and list them on its records: pytest-playwright's and the tests' own.

pytest-playwright keeps screenshots, traces and videos in per-test folders below `--output`, and lists
the kept ones on each attempt's teardown report: they are stored as `<testId>/attempt-<n>/<NN>-<name>`.
Other files below `--output` (a test's own, written to the `output_path` fixture's folder) belong to
the attempt whose folder holds them, else to the unit. Files the tests write below
HT_TEST_ARTIFACTS_OUTPUT_PATH are stored as `<testId>/custom/...`. A file that belongs to the unit but
to no one test of several is stored under `units/<unitId>/...` and listed on each record.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.artifacts import ArtifactStore, guess_content_type, safe_segment, store_for_unit
from runner.pytest.payload import RequestedTest
from runner.pytest.records import Reports, attempt_artifacts


def store_output_artifacts(records: Sequence[dict[str, Any]], tests: Sequence[RequestedTest], *, unit_id: str,
                           reports: Reports, output_dir: Path, store: ArtifactStore) -> None:
    """Store pytest-playwright's files of each attempt, then the rest of the output folder."""
    by_id = {record["id"]: record for record in records}
    stored: set[Path] = set()
    folders: dict[Path, tuple[RequestedTest, int]] = {}
    for test in tests:
        for retry, artifacts in enumerate(attempt_artifacts(reports, test)):
            for index, artifact in enumerate(artifacts):
                source = Path(artifact["path"])
                if not source.is_file() or source in stored:
                    continue
                key = f"{test.id}/attempt-{retry}/{index:02d}-{safe_segment(source.name)}"
                _put(by_id[test.id], store, source, key=key, name=source.name, retry=retry)
                stored.add(source)
                folders[source.parent] = (test, retry)
    if not output_dir.is_dir():
        return
    for source in sorted(p for p in output_dir.rglob("*") if p.is_file() and p not in stored):
        relative = source.relative_to(output_dir).as_posix()
        owner = folders.get(source.parent)
        if owner is not None:
            test, retry = owner
            key = f"{test.id}/attempt-{retry}/output/{relative}"
            _put(by_id[test.id], store, source, key=key, name=relative, retry=retry)
        else:
            store_for_unit(records, [test.id for test in tests], unit_id, store, source=source, kind="output",
                           relative=relative)


def _put(record: dict[str, Any], store: ArtifactStore, source: Path, *, key: str, name: str, retry: int) -> None:
    content_type = guess_content_type(source)
    record["artifacts"].append({"name": name, "path": store.put(source, key, content_type),
                                "contentType": content_type, "attempt": retry})
