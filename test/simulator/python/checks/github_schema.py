"""GitHub's documented schemas (the REST API's OpenAPI description) for the parts used."""

from __future__ import annotations

import json
from typing import Any

from checks.report import need

RUNNER_FIELDS = {"id": int, "runner_group_id": int, "name": str, "os": str, "status": str, "busy": bool,
                 "labels": list, "ephemeral": bool}
RUNNER_REQUIRED = {"id", "name", "os", "status", "busy", "labels"}
LABEL_FIELDS = {"id": int, "name": str, "type": str}
RELEASE_FIELDS = {
    "url": str, "html_url": str, "assets_url": str, "upload_url": str, "tarball_url": (str, type(None)),
    "zipball_url": (str, type(None)), "id": int, "node_id": str, "tag_name": str, "target_commitish": str,
    "name": (str, type(None)), "body": (str, type(None)), "draft": bool, "prerelease": bool, "immutable": bool,
    "created_at": str, "published_at": (str, type(None)), "updated_at": (str, type(None)), "author": dict,
    "assets": list, "body_html": str, "body_text": str, "mentions_count": int, "discussion_url": str,
    "reactions": dict,
}
RELEASE_REQUIRED = {"url", "html_url", "assets_url", "upload_url", "tarball_url", "zipball_url", "id", "node_id",
                    "tag_name", "target_commitish", "name", "draft", "prerelease", "created_at", "published_at",
                    "author", "assets"}
ASSET_FIELDS = {"url": str, "browser_download_url": str, "id": int, "node_id": str, "name": str,
                "label": (str, type(None)), "state": str, "content_type": str, "size": int, "digest": (str, type(None)),
                "download_count": int, "created_at": str, "updated_at": str, "uploader": (dict, type(None))}
ASSET_REQUIRED = set(ASSET_FIELDS)
ERROR_FIELDS = {"message": str, "documentation_url": str, "status": str, "errors": list}
RATE_HEADERS = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset",
                "x-ratelimit-resource"]


def need_object(value: Any, fields: dict, required: set, what: str) -> None:
    need(isinstance(value, dict), f"{what}: expected an object, got {type(value).__name__}")
    unknown = sorted(set(value) - set(fields))
    need(not unknown, f"{what}: fields GitHub does not send: {unknown}")
    missing = sorted(required - set(value))
    need(not missing, f"{what}: fields GitHub always sends are missing: {missing}")
    for key, item in value.items():
        expected = fields[key]
        ok = isinstance(item, expected) and not (isinstance(item, bool) and expected is int)
        need(ok, f"{what}.{key}: {json.dumps(item)[:60]} has the wrong type")
