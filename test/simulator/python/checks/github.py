"""GitHub: runners, releases, ETags and rate limits, over plain HTTP as GitHub's REST API answers them."""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Optional

from checks.github_schema import (ASSET_FIELDS, ASSET_REQUIRED, ERROR_FIELDS, LABEL_FIELDS, RATE_HEADERS,
                                  RELEASE_FIELDS, RELEASE_REQUIRED, RUNNER_FIELDS, RUNNER_REQUIRED, need_object)
from checks.report import CheckFailed, Report, need
from checks.simulator import sim_now


@dataclass
class GitHubAnswer:
    status: int
    headers: dict[str, str]
    body: Any
    raw: bytes


class GitHubChecks:
    def __init__(self, report: Report, url: str, org: str, token: str) -> None:
        self.report = report
        self.url = url.rstrip("/")
        self.org = org
        self.token = token
        # Rate-limit state seen last, per identity: (limit, remaining, used, reset).
        self.last_rate: dict[str, tuple[int, int, int, int]] = {}
        self.rate_problems: list[str] = []
        self.rate_answers = 0

    def request(self, path_or_url: str, authenticated: bool = True, etag: Optional[str] = None) -> GitHubAnswer:
        url = path_or_url if path_or_url.startswith("http") else self.url + path_or_url
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": "runner-rollout-second-client"}
        if authenticated:
            headers["Authorization"] = f"Bearer {self.token}"
        if etag is not None:
            headers["If-None-Match"] = etag
        before = sim_now(self.url)
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
                status, response_headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, response_headers, raw = error.code, error.headers, error.read()
        after = sim_now(self.url)
        lowered = {key.lower(): value for key, value in response_headers.items()}
        body = json.loads(raw) if raw else None
        answer = GitHubAnswer(status, lowered, body, raw)
        # Rate-limit findings are a check of their own, so that the other checks still say what they find.
        try:
            self.need_rate_headers(answer, "token" if authenticated else "anonymous", before, after, url)
            self.rate_answers += 1
        except CheckFailed as problem:
            self.rate_problems.append(str(problem))
        return answer

    def need_rate_headers(self, answer: GitHubAnswer, identity: str, before: float, after: float, url: str) -> None:
        """x-ratelimit-* on every answer, consistent with each other and with the answers before."""
        what = f"{answer.status} answer to {url.replace(self.url, '')} ({identity})"
        missing = [name for name in RATE_HEADERS if name not in answer.headers]
        need(not missing, f"{what} lacks {missing}")
        try:
            limit, remaining, used, reset = (int(answer.headers[name]) for name in RATE_HEADERS[:4])
        except ValueError:
            raise CheckFailed(f"{what}: rate-limit headers are not integers: "
                              f"{ {name: answer.headers[name] for name in RATE_HEADERS} }")
        resource = answer.headers["x-ratelimit-resource"]
        need(resource == "core", f"{what}: x-ratelimit-resource {resource!r}, expected 'core'")
        need(used + remaining == limit, f"{what}: used {used} + remaining {remaining} != limit {limit}")
        need(remaining >= 0 and used >= 0, f"{what}: negative counts")
        if identity == "anonymous":
            need(limit == 60, f"{what}: unauthenticated limit {limit}, GitHub allows 60 an hour")
        else:
            need(limit >= 5000, f"{what}: limit {limit}, GitHub allows an installation at least 5,000 an hour")
        # The window resets within the hour after the request, in the simulator's time.
        need(before - 1 <= reset <= after + 3600 + 1,
             f"{what}: x-ratelimit-reset {reset} is not within the hour after the request ({int(before)}..{int(after)})")
        previous = self.last_rate.get(identity)
        self.last_rate[identity] = (limit, remaining, used, reset)
        if previous is not None and previous[3] != reset:
            # GitHub's window is fixed: its reset time moves only once the window it announced has ended.
            need(previous[3] <= after + 1,
                 f"{what}: x-ratelimit-reset moved from {previous[3]} to {reset} before that window ended ({int(after)})")
        if previous is not None and previous[0] == limit and previous[3] == reset:
            spent = previous[1] - remaining
            if answer.status == 304:
                need(spent == 0, f"{what}: a 304 spent {spent} requests of the limit; GitHub does not count it")
            else:
                need(spent == 1, f"{what}: remaining went from {previous[1]} to {remaining}; one request spends one")

    def run(self) -> None:
        r = self.report
        runners = r.run("github.runners.list.paged", self.runners_list)
        if runners:
            r.run("github.runners.get", lambda: self.runner_get(runners))
        else:
            r.skip("github.runners.get", "no runner was listed")
        r.run("github.runners.get.missing.not-found", self.runner_missing)
        r.run("github.runners.list.unauthenticated.401", self.runners_unauthenticated)
        for authenticated in (True, False):
            who = "authenticated" if authenticated else "unauthenticated"
            needs = None if authenticated else "publicReleaseReads"
            releases = r.run(f"github.releases.list.paged.{who}", lambda: self.releases_list(authenticated), needs=needs)
            if releases:
                r.run(f"github.releases.latest.{who}", lambda: self.releases_latest(authenticated, releases), needs=needs)
            else:
                r.skip(f"github.releases.latest.{who}", "no release was listed")
        r.run("github.etags.if-none-match.304", self.etags, needs="ETags")
        r.run("github.rate-limit.headers", self.rate_limits, needs="githubPrimaryLimit")

    def rate_limits(self) -> str:
        """Every answer above carried x-ratelimit-* headers, consistent with each other and the answers before."""
        count = len(self.rate_problems)
        need(count == 0, f"{count} of {count + self.rate_answers} answers: " + "; ".join(self.rate_problems[:4]))
        return f"{self.rate_answers} answers"

    def need_ok(self, answer: GitHubAnswer, what: str) -> None:
        need(answer.status == 200, f"{what}: HTTP {answer.status}: {answer.raw[:200]!r}")
        content_type = answer.headers.get("content-type", "")
        need(content_type.startswith("application/json"), f"{what}: content-type {content_type!r}")

    def need_runner(self, runner: Any, what: str) -> None:
        need_object(runner, RUNNER_FIELDS, RUNNER_REQUIRED, what)
        need(runner["status"] in ("online", "offline"), f"{what}: status {runner['status']!r}")
        for index, label in enumerate(runner["labels"]):
            need_object(label, LABEL_FIELDS, {"name"}, f"{what}.labels[{index}]")
            need(label.get("type", "custom") in ("read-only", "custom"), f"{what}: label type {label.get('type')!r}")

    def wait_for_runners(self, at_least: int) -> int:
        """The fleet's VMs register some simulated seconds after boot; give them up to 60 s of real time."""
        deadline = time.monotonic() + 60
        while True:
            answer = self.request(f"/orgs/{self.org}/actions/runners?per_page=1")
            self.need_ok(answer, "runners list")
            total = answer.body.get("total_count", 0)
            if total >= at_least or time.monotonic() > deadline:
                return total
            time.sleep(0.5)

    def runners_list(self) -> list[dict]:
        total = self.wait_for_runners(at_least=4)
        need(total >= 2, f"only {total} runners registered: paging cannot be checked")
        per_page = max(1, min(5, total // 3))
        url: Optional[str] = f"/orgs/{self.org}/actions/runners?per_page={per_page}"
        seen: dict[int, dict] = {}
        pages = 0
        while url is not None:
            pages += 1
            need(pages <= 200, "more than 200 pages: the next link does not advance")
            answer = self.request(url)
            self.need_ok(answer, f"runners page {pages}")
            body = answer.body
            need(isinstance(body, dict) and set(body) == {"total_count", "runners"},
                 f"runners page {pages}: keys {sorted(body) if isinstance(body, dict) else body}")
            need(isinstance(body["total_count"], int), "total_count is not an integer")
            need(len(body["runners"]) <= per_page, f"page {pages}: {len(body['runners'])} runners with per_page={per_page}")
            for index, runner in enumerate(body["runners"]):
                self.need_runner(runner, f"runners page {pages}[{index}]")
                need(runner["id"] not in seen, f"runner {runner['id']} is listed twice")
                seen[runner["id"]] = runner
            links = parse_links(answer.headers.get("link", ""))
            last_page = max(1, -(-body["total_count"] // per_page))
            if "last" in links:
                need(page_of(links["last"]) == last_page,
                     f"rel=last is page {page_of(links['last'])}, total_count {body['total_count']} makes {last_page}")
            if "next" in links:
                need(page_of(links["next"]) == pages + 1, f"rel=next on page {pages} is {links['next']}")
                need(urllib.parse.parse_qs(urllib.parse.urlsplit(links["next"]).query).get("per_page") == [str(per_page)],
                     "rel=next does not keep per_page")
            else:
                need(pages >= last_page, f"no rel=next on page {pages} of {last_page}")
            url = links.get("next")
        need(pages > 1, f"{total} runners at per_page={per_page} fitted one page: paging was not exercised")
        return list(seen.values())

    def runner_get(self, runners: list[dict]) -> None:
        # Ephemeral runners come and go while time runs: a runner listed a moment ago may be gone now.
        for runner in runners[:5]:
            answer = self.request(f"/orgs/{self.org}/actions/runners/{runner['id']}")
            if answer.status == 404:
                continue
            self.need_ok(answer, f"runner {runner['id']}")
            self.need_runner(answer.body, f"runner {runner['id']}")
            need(answer.body["id"] == runner["id"] and answer.body["name"] == runner["name"],
                 "get answered another runner than the list showed")
            return
        raise CheckFailed("none of the first five listed runners could be got")

    def need_github_error(self, answer: GitHubAnswer, status: int, message: str, what: str) -> None:
        need(answer.status == status, f"{what}: HTTP {answer.status}, expected {status}")
        need_object(answer.body, ERROR_FIELDS, {"message"}, f"{what} body")
        need(answer.body["message"] == message, f"{what}: message {answer.body['message']!r}, expected {message!r}")

    def runner_missing(self) -> None:
        answer = self.request(f"/orgs/{self.org}/actions/runners/999999999")
        self.need_github_error(answer, 404, "Not Found", "missing runner")

    def runners_unauthenticated(self) -> None:
        answer = self.request(f"/orgs/{self.org}/actions/runners", authenticated=False)
        self.need_github_error(answer, 401, "Requires authentication", "unauthenticated runners list")

    def need_release(self, release: Any, what: str) -> None:
        need_object(release, RELEASE_FIELDS, RELEASE_REQUIRED, what)
        need(re.fullmatch(r"v\d+\.\d+\.\d+", release["tag_name"]) is not None, f"{what}: tag {release['tag_name']!r}")
        for key in ("created_at", "published_at"):
            if release.get(key) is not None:
                need(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", release[key]) is not None,
                     f"{what}.{key}: {release[key]!r} is not GitHub's timestamp form")
        need(len(release["assets"]) > 0, f"{what}: no assets")
        for index, asset in enumerate(release["assets"]):
            need_object(asset, ASSET_FIELDS, ASSET_REQUIRED, f"{what}.assets[{index}]")
            need(asset["state"] in ("uploaded", "open"), f"{what}.assets[{index}]: state {asset['state']!r}")

    def releases_list(self, authenticated: bool) -> list[dict]:
        url: Optional[str] = "/repos/actions/runner/releases?per_page=1"
        seen: dict[int, dict] = {}
        pages = 0
        while url is not None:
            pages += 1
            need(pages <= 100, "more than 100 pages: the next link does not advance")
            answer = self.request(url, authenticated=authenticated)
            self.need_ok(answer, f"releases page {pages}")
            need(isinstance(answer.body, list), "the releases list is not a JSON array")
            need(len(answer.body) <= 1, f"page {pages}: {len(answer.body)} releases with per_page=1")
            for index, release in enumerate(answer.body):
                self.need_release(release, f"releases page {pages}[{index}]")
                need(release["id"] not in seen, f"release {release['id']} is listed twice")
                seen[release["id"]] = release
            url = parse_links(answer.headers.get("link", "")).get("next")
        need(len(seen) > 0, "no releases listed")
        return list(seen.values())

    def releases_latest(self, authenticated: bool, releases: list[dict]) -> None:
        answer = self.request("/repos/actions/runner/releases/latest", authenticated=authenticated)
        self.need_ok(answer, "latest release")
        self.need_release(answer.body, "latest release")
        published = [r for r in releases if not r["draft"] and not r["prerelease"]]
        newest = max(published, key=lambda r: r["created_at"])
        need(answer.body["id"] == newest["id"],
             f"latest is {answer.body['tag_name']}, the newest published release listed is {newest['tag_name']}")

    def etags(self) -> str:
        paths = [f"/orgs/{self.org}/actions/runners?per_page=100", "/repos/actions/runner/releases",
                 "/repos/actions/runner/releases/latest"]
        checked = []
        for path in paths:
            first = self.request(path)
            self.need_ok(first, path)
            etag = first.headers.get("etag")
            if etag is None:
                print(f"NOTE github.etags: {path} sends no ETag; nothing to revalidate", file=sys.stderr)
                continue
            need(re.fullmatch(r'(W/)?"[^"]+"', etag) is not None, f"{path}: ETag {etag!r} is not a quoted entity tag")
            again = self.request(path, etag=etag)
            if again.status == 200:
                # The resource changed in between (runners come and go): the new answer has a new tag.
                need(again.headers.get("etag") != etag, f"{path}: 200 to If-None-Match with the same ETag")
                continue
            need(again.status == 304, f"{path}: HTTP {again.status} to If-None-Match with its own ETag, expected 304")
            need(again.raw == b"", f"{path}: a 304 with a body")
            need(again.headers.get("etag") == etag, f"{path}: the 304 carries ETag {again.headers.get('etag')!r}")
            checked.append(path)
        return f"revalidated {checked}"


def parse_links(header: str) -> dict[str, str]:
    links = {}
    for part in header.split(","):
        match = re.match(r'\s*<([^>]+)>\s*;\s*rel="([^"]+)"', part)
        if match:
            links[match.group(2)] = match.group(1)
    return links


def page_of(url: str) -> int:
    return int(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("page", ["1"])[0])
