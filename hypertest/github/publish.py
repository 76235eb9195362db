"""Publish to the pull request and the Checks API; permission problems degrade, never fail the step."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hypertest.github.api import GitHubApi, GitHubApiError
from hypertest.github.comment import MARKER

CHECK_BATCH = 50  # annotations per Checks API request


def pull_request_number(event_path: str, event_name: str) -> tuple[int | None, bool]:
    """The PR number of the triggering event, and whether it comes from a fork."""
    if not event_path or not Path(event_path).is_file():
        return None, False
    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    pull = event.get("pull_request")
    if not isinstance(pull, dict):
        return None, False
    head_repo = (pull.get("head") or {}).get("repo") or {}
    base_repo = (pull.get("base") or {}).get("repo") or {}
    fork = bool(head_repo.get("fork")) or (head_repo.get("full_name") != base_repo.get("full_name")
                                            and bool(head_repo.get("full_name")))
    return int(pull["number"]), fork and event_name != "pull_request_target"


def upsert_comment(api: GitHubApi, repository: str, number: int, body: str, *, create: bool = True) -> str:
    """Edit the comment that carries our marker, or (when create) make it; "created", "updated" or "none"."""
    page = 1
    while page <= 20:
        comments = api.request("GET", f"/repos/{repository}/issues/{number}/comments?per_page=100&page={page}")
        for comment in comments or []:
            if MARKER in str(comment.get("body", "")):
                api.request("PATCH", f"/repos/{repository}/issues/comments/{comment['id']}", {"body": body})
                return "updated"
        if not comments or len(comments) < 100:
            break
        page += 1
    if not create:
        return "none"
    api.request("POST", f"/repos/{repository}/issues/{number}/comments", {"body": body})
    return "created"


def create_check_run(api: GitHubApi, repository: str, *, sha: str, conclusion: str, summary: str,
                     annotations: Sequence[Mapping[str, Any]]) -> int:
    """A completed check run carrying every annotation, 50 per request; returns its id."""
    levels = {"failure": "failure", "warning": "warning"}
    items = [{"path": a["path"], "start_line": a["line"], "end_line": a["line"],
              "annotation_level": levels[a["level"]], "title": a["title"][:255], "message": a["message"][:64000]}
             for a in annotations]
    title = "hypertest"
    output = {"title": title, "summary": summary[:65000], "annotations": items[:CHECK_BATCH]}
    created = api.request("POST", f"/repos/{repository}/check-runs", {
        "name": "hypertest", "head_sha": sha, "status": "completed",
        "conclusion": "success" if conclusion == "passed" else "failure", "output": output})
    check_id = int(created["id"])
    for start in range(CHECK_BATCH, len(items), CHECK_BATCH):
        api.request("PATCH", f"/repos/{repository}/check-runs/{check_id}",
                    {"output": {"title": title, "summary": summary[:65000],
                                "annotations": items[start:start + CHECK_BATCH]}})
    return check_id


def degrade(error: GitHubApiError, what: str) -> str:
    """The single warning printed when publishing is not allowed (fork PRs, read-only tokens)."""
    if error.status in (401, 403, 404):
        return (f"{what} skipped: the token may not write here (HTTP {error.status}; a pull request "
                "from a fork gets a read-only token). The job summary has the full results.")
    return f"{what} failed: {error}"
