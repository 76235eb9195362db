"""Publish to the pull request and the Checks API; permission problems degrade, never fail the step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypertest.github.annotations import Annotation
from hypertest.github.api import GitHubApi, GitHubApiError
from hypertest.github.comment import MARKER

CHECK_BATCH = 50  # annotations per Checks API request


def upsert_comment(api: GitHubApi, repository: str, number: int, body: str, *, create: bool = True) -> str:
    """Edit the comment that carries our marker, or (when create) make it; "created", "updated" or "none"."""
    page = 1
    while page <= 20:
        comments = api.request("GET", f"/repos/{repository}/issues/{number}/comments?per_page=100&page={page}")
        if comments is not None and not isinstance(comments, list):
            raise GitHubApiError(0, "the list of comments is not a list")
        for comment in comments or []:
            if isinstance(comment, dict) and MARKER in str(comment.get("body", "")):
                api.request("PATCH", f"/repos/{repository}/issues/comments/{_id(comment, 'a comment')}",
                            {"body": body})
                return "updated"
        if not comments or len(comments) < 100:
            break
        page += 1
    if not create:
        return "none"
    api.request("POST", f"/repos/{repository}/issues/{number}/comments", {"body": body})
    return "created"


def create_check_run(api: GitHubApi, repository: str, *, sha: str, conclusion: str, summary: str,
                     annotations: Sequence[Annotation]) -> int:
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
    check_id = _id(created, "the created check run")
    for start in range(CHECK_BATCH, len(items), CHECK_BATCH):
        api.request("PATCH", f"/repos/{repository}/check-runs/{check_id}",
                    {"output": {"title": title, "summary": summary[:65000],
                                "annotations": items[start:start + CHECK_BATCH]}})
    return check_id


def _id(answer: Any, what: str) -> int:
    """The positive integer id of an API answer; GitHubApiError when it has none."""
    ident = answer.get("id") if isinstance(answer, dict) else None
    if isinstance(ident, bool) or not isinstance(ident, int) or ident < 1:
        raise GitHubApiError(0, f"{what} has no id in the answer")
    return ident


def degrade(error: GitHubApiError, what: str) -> str:
    """The single warning printed when publishing is not allowed (fork PRs, read-only tokens)."""
    if error.status in (401, 403, 404):
        return (f"{what} skipped: the token may not write here (HTTP {error.status}; a pull request "
                "from a fork gets a read-only token). The job summary has the full results.")
    return f"{what} failed: {error}"
