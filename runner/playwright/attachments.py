"""Store what Playwright attached to each attempt of a unit's tests (screenshots, traces, videos, the
tests' own attachments) as `<testId>/attempt-<n>/<NN>-<name>`, and list each on its test's record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.artifacts import ArtifactStore, guess_content_type, safe_segment
from runner.payload import Payload
from runner.results import Parsed


def store_attachments(payload: Payload, records: list[dict[str, Any]], parsed: Parsed, store: ArtifactStore) -> None:
    """Store every attachment of every attempt Playwright reported for the unit's tests."""
    by_key = {test.key: test for test in payload.tests}
    records_by_id = {record["id"]: record for record in records}
    for key, attempts in parsed.attempts.items():
        test = by_key.get(key)
        if test is None:
            continue
        record = records_by_id[test.id]
        for attempt in attempts:
            retry = int(attempt.get("retry", 0))
            for index, attachment in enumerate(attempt.get("attachments") or []):
                source = Path(str(attachment.get("path", "")))
                if not source.is_file():
                    continue
                name = str(attachment.get("name") or source.name)
                suffix = source.suffix if not Path(name).suffix else ""
                target = f"{test.id}/attempt-{retry}/{index:02d}-{safe_segment(name)}{suffix}"
                content_type = guess_content_type(source, attachment.get("contentType"))
                record["artifacts"].append({"name": name, "path": store.put(source, target, content_type),
                                            "contentType": content_type, "attempt": retry})
