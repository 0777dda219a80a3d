"""A second, independent client of the fleet simulator: Google's Python Compute client and plain HTTP for GitHub.

Usage: second_client.py SIMULATOR_URL [--project P] [--org O] [--token T]

Drives the simulator as a real tool would drive GCP Compute and GitHub, and checks that every answer is one the
real APIs could give: field names and types as Google's own protobuf descriptors (and GitHub's documented schemas)
define them, enum values upper-case, operations and pages as the real services hand them out, errors mapped by the
client as the real ones are, rate-limit headers present and consistent. Each check prints PASS or FAIL with its
name; any FAIL makes the exit status 1. A FAIL that depends on a simulator behaviour names that behaviour.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1
from google.cloud.compute_v1.types import compute
from google.protobuf.descriptor import FieldDescriptor

SELF_LINK_ROOT = "https://www.googleapis.com/compute/v1"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DIGITS = re.compile(r"^\d+$")
OPERATION_STATUSES = ["PENDING", "RUNNING", "DONE"]


class CheckFailed(Exception):
    """A check found an answer the real API would not give."""


def need(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# --------------------------------------------------------------------------------------------------------------
# Running checks


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def run(self, name: str, check: Callable[[], Any], needs: Optional[str] = None) -> Any:
        """Runs one check; returns its value, or None when it failed."""
        try:
            value = check()
        except CheckFailed as failure:
            self.fail(name, str(failure), needs)
            return None
        except Exception as error:  # any client error is a failed check too, with its cause
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            self.fail(name, f"unexpected {detail}", needs)
            return None
        self.passed.append(name)
        print(f"PASS {name}", file=sys.stderr)
        return value

    def fail(self, name: str, message: str, needs: Optional[str] = None) -> None:
        suffix = f" [needs simulator behaviour: {needs}]" if needs else ""
        self.failed.append((name, message))
        print(f"FAIL {name}: {message}{suffix}", file=sys.stderr)

    def skip(self, name: str, because: str) -> None:
        self.fail(name, f"not run: {because}")


# --------------------------------------------------------------------------------------------------------------
# Shapes: a raw JSON answer against the protobuf message Google's client parses it into


ADDITIONAL_VALUES = re.compile(r"Additional supported values which may be not listed in the enum\s+directly due to technical reasons:(.*?)(?:Values:|$)", re.S)


@functools.lru_cache(maxsize=None)
def _enum_values(message_name: str, enum_name: str) -> Optional[frozenset[str]]:
    """The values of the enum `enum_name` nested in the Compute message `message_name`, or None if it has none.

    Protobuf scopes enum values to the package, so the generated enum keeps only the values no other enum took; the
    rest the enum's documentation lists as "additional supported values" (Type keeps OPPORTUNISTIC in its members
    and lists PROACTIVE there).
    """
    message_class = getattr(compute, message_name, None)
    enum_class = getattr(message_class, enum_name, None) if message_class is not None else None
    if enum_class is None or not hasattr(enum_class, "__members__"):
        return None
    values = {name for name in enum_class.__members__ if not name.startswith("UNDEFINED_")}
    match = ADDITIONAL_VALUES.search(enum_class.__doc__ or "")
    if match:
        values |= set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*$", match.group(1), re.M))
    return frozenset(values)


def _string_enum_values(message_descriptor, proto_field) -> Optional[frozenset[str]]:
    """The values of a string field that Compute documents as an enum, named after the field (`minimal_action` ->
    `MinimalAction`), or None for a free-form string."""
    enum_name = "".join(part.capitalize() for part in proto_field.name.rstrip("_").split("_"))
    if enum_name not in message_descriptor.enum_types_by_name:
        return None
    return _enum_values(message_descriptor.name, enum_name)


def shape_problems(value: Any, descriptor, path: str) -> list[str]:
    """Every way in which `value` is not a JSON encoding Compute would send of the message `descriptor`."""
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {type(value).__name__}"]
    fields = {f.json_name: f for f in descriptor.fields}
    problems = []
    for key, item in value.items():
        proto_field = fields.get(key)
        if proto_field is None:
            problems.append(f"{path}.{key}: no such field in {descriptor.name}")
            continue
        if proto_field.is_repeated and not _is_map(proto_field):
            if not isinstance(item, list):
                problems.append(f"{path}.{key}: expected a list, got {type(item).__name__}")
                continue
            for index, element in enumerate(item):
                problems += _value_problems(element, descriptor, proto_field, f"{path}.{key}[{index}]")
        else:
            problems += _value_problems(item, descriptor, proto_field, f"{path}.{key}")
    return problems


def _is_map(proto_field) -> bool:
    return proto_field.type == FieldDescriptor.TYPE_MESSAGE and proto_field.message_type.GetOptions().map_entry


def _value_problems(value: Any, parent, proto_field, path: str) -> list[str]:
    kind = proto_field.type
    if _is_map(proto_field):
        if not isinstance(value, dict):
            return [f"{path}: expected a map object"]
        value_field = proto_field.message_type.fields_by_name["value"]
        problems = []
        for key, item in value.items():
            problems += _value_problems(item, proto_field.message_type, value_field, f"{path}[{key!r}]")
        return problems
    if kind == FieldDescriptor.TYPE_MESSAGE:
        return shape_problems(value, proto_field.message_type, path)
    if kind == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {json.dumps(value)}"]
        allowed = _string_enum_values(parent, proto_field)
        if allowed is not None and value not in allowed:
            return [f"{path}: {value!r} is not a value of enum {parent.name}.{proto_field.name} ({sorted(allowed)})"]
        return []
    if kind == FieldDescriptor.TYPE_ENUM:
        allowed = _enum_values(parent.name, proto_field.enum_type.name) or frozenset()
        if value not in allowed:
            return [f"{path}: {value!r} is not a value of enum {proto_field.enum_type.name} ({sorted(allowed)})"]
        return []
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        # Compute's JSON carries 64-bit integers as decimal strings ("id": "8837216412").
        if not (isinstance(value, str) and re.fullmatch(r"-?\d+", value)):
            return [f"{path}: a 64-bit integer is sent as a decimal string, got {json.dumps(value)}"]
        return []
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_SINT32):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: expected a 32-bit integer, got {json.dumps(value)}"]
        return []
    if kind == FieldDescriptor.TYPE_BOOL:
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {json.dumps(value)}"]
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {json.dumps(value)}"]
    return [f"{path}: unexpected protobuf field type {kind}"]


def need_shape(raw: Any, message_class, what: str) -> None:
    problems = shape_problems(raw, message_class.pb().DESCRIPTOR, what)
    need(not problems, "; ".join(problems[:8]) + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""))


def need_timestamp(value: Any, what: str) -> None:
    need(isinstance(value, str) and RFC3339.match(value) is not None, f"{what} is not an RFC 3339 timestamp: {value!r}")


# --------------------------------------------------------------------------------------------------------------
# Compute


class RawRecorder:
    """Keeps the raw HTTP answers one client's session received (a `requests` response hook), to check their JSON."""

    def __init__(self) -> None:
        self.responses: list[Any] = []

    def __call__(self, response, *args, **kwargs):
        self.responses.append(response)
        return response

    def take(self) -> list[Any]:
        taken, self.responses = self.responses, []
        return taken

    def last_json(self) -> Any:
        taken = self.take()
        need(len(taken) > 0, "no HTTP answer was recorded")
        response = taken[-1]
        content_type = response.headers.get("content-type", "")
        need("application/json" in content_type, f"answer's content-type is {content_type!r}, not JSON")
        return response.json()


def compute_client(client_class, url: str) -> tuple[Any, RawRecorder]:
    """A production Compute client pointed at the simulator: its endpoint, plain HTTP, anonymous credentials."""
    endpoint = urllib.parse.urlsplit(url).netloc
    rest_transport = client_class.get_transport_class("rest")
    client = client_class(
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=endpoint),
        transport=functools.partial(rest_transport, url_scheme="http"),
    )
    recorder = RawRecorder()
    # The REST transport's HTTP session is a google.auth AuthorizedSession, a requests.Session: its response hooks
    # see every raw answer before the client turns it into a protobuf message that drops unknown fields.
    client.transport._session.hooks["response"].append(recorder)
    return client, recorder


class ComputeChecks:
    def __init__(self, report: Report, url: str, project: str, sim_state: dict) -> None:
        self.report = report
        self.url = url
        self.project = project
        self.state = sim_state
        self.base = f"{SELF_LINK_ROOT}/projects/{project}"
        self.regions, self.regions_raw = compute_client(compute_v1.RegionsClient, url)
        self.migs, self.migs_raw = compute_client(compute_v1.RegionInstanceGroupManagersClient, url)
        self.operations, self.operations_raw = compute_client(compute_v1.RegionOperationsClient, url)
        self.templates, self.templates_raw = compute_client(compute_v1.InstanceTemplatesClient, url)
        self.fleet_regions = sorted({mig["region"] for mig in sim_state["migs"]})

    def run(self) -> None:
        r = self.report
        r.run("compute.regions.list", self.regions_list)
        listed = r.run("compute.migs.list.paged", self.migs_list_paged)
        r.run("compute.migs.list.max-results-over-500.bad-request", self.migs_list_bad_max_results)
        mig = self.pick_mig(listed)
        if mig is None:
            for name in ("compute.migs.get", "compute.migs.patch.lower-case-enums", "compute.operations.wait.until-done",
                         "compute.migs.get.after-patch.upper-case-enums", "compute.migs.list-managed-instances"):
                r.skip(name, "no MIG was listed")
        else:
            r.run("compute.migs.get", lambda: self.mig_get(mig))
            operation = r.run("compute.migs.patch.lower-case-enums", lambda: self.patch_lower_case(mig),
                              needs="lowerCaseEnums")
            if operation is None:
                r.skip("compute.operations.wait.until-done", "the patch failed")
                r.skip("compute.migs.get.after-patch.upper-case-enums", "the patch failed")
            else:
                r.run("compute.operations.wait.until-done", lambda: self.wait_until_done(mig, operation),
                      needs="operationDurations")
                r.run("compute.migs.get.after-patch.upper-case-enums", lambda: self.get_after_patch(mig))
            r.run("compute.migs.list-managed-instances", lambda: self.list_managed_instances(mig))
        r.run("compute.migs.get.missing.not-found", self.missing_mig)
        templates = r.run("compute.instance-templates.list.paged", self.templates_list)
        if templates:
            r.run("compute.instance-templates.get", lambda: self.template_get(templates[0]))
        else:
            r.skip("compute.instance-templates.get", "no template was listed")
        r.run("compute.instance-templates.get.missing.not-found", self.missing_template)

    # -- regions

    def regions_list(self) -> None:
        names = []
        for region in self.regions.list(project=self.project):
            names.append(region.name)
        pages = self.regions_raw.take()
        need(len(pages) >= 1, "no page was recorded")
        for index, response in enumerate(pages):
            raw = response.json()
            need_shape(raw, compute.RegionList, f"regions page {index}")
            need(raw.get("kind") == "compute#regionList", f"kind is {raw.get('kind')!r}")
            for item in raw.get("items", []):
                need(item.get("kind") == "compute#region", f"region kind is {item.get('kind')!r}")
                need(item.get("status") in ("UP", "DOWN"), f"region {item.get('name')} status {item.get('status')!r}")
                need(item.get("selfLink") == f"{self.base}/regions/{item.get('name')}",
                     f"region selfLink {item.get('selfLink')!r}")
                for zone in item.get("zones", []):
                    need(zone.startswith(f"{self.base}/zones/{item.get('name')}-"), f"zone URL {zone!r}")
        need(len(names) == len(set(names)), f"a region is listed twice: {names}")
        missing = set(self.fleet_regions) - set(names)
        need(not missing, f"the fleet's regions {sorted(missing)} are not listed")

    # -- MIGs

    def migs_list_paged(self) -> list[dict]:
        """Every region's MIGs, three to a page: each page well formed, each MIG exactly once."""
        seen: dict[str, dict] = {}
        multi_page = False
        for region in self.fleet_regions:
            request = compute.ListRegionInstanceGroupManagersRequest(project=self.project, region=region, max_results=3)
            pager = self.migs.list(request=request)
            page_count = 0
            for page in pager.pages:
                page_count += 1
                need(page_count <= 100, f"{region}: more than 100 pages; the page token does not advance")
                raw = self.migs_raw.last_json()
                where = f"{region} MIG page {page_count}"
                need_shape(raw, compute.RegionInstanceGroupManagerList, where)
                need(raw.get("kind") == "compute#regionInstanceGroupManagerList", f"{where}: kind {raw.get('kind')!r}")
                items = raw.get("items", [])
                need(len(items) <= 3, f"{where}: {len(items)} items with maxResults=3")
                need(bool(page.next_page_token) == ("nextPageToken" in raw), f"{where}: nextPageToken mismatch")
                if page.next_page_token:
                    need(len(items) == 3, f"{where}: a page that is not the last has {len(items)} of 3 items")
                for item in items:
                    self.need_mig_resource(item, region)
                    name = item["name"]
                    need(name not in seen, f"MIG {name} is listed twice")
                    seen[name] = item
            multi_page = multi_page or page_count > 1
        need(multi_page, "no region had more than one page of MIGs with maxResults=3: paging was not exercised")
        expected = {mig["name"] for mig in self.state["migs"]}
        need(set(seen) == expected,
             f"listed MIGs differ from the fleet: missing {sorted(expected - set(seen))}, extra {sorted(set(seen) - expected)}")
        return list(seen.values())

    def migs_list_bad_max_results(self) -> None:
        request = compute.ListRegionInstanceGroupManagersRequest(
            project=self.project, region=self.fleet_regions[0], max_results=501)
        try:
            next(iter(self.migs.list(request=request)), None)
        except gexc.BadRequest as error:
            self.need_error(error, self.migs_raw, 400, "invalid")
            return
        raise CheckFailed("maxResults=501 was accepted; Compute answers 400 invalid (the maximum is 500)")

    def need_mig_resource(self, item: dict, region: str) -> None:
        name = item.get("name")
        need(item.get("kind") == "compute#instanceGroupManager", f"MIG {name}: kind {item.get('kind')!r}")
        need(isinstance(item.get("id"), str) and DIGITS.match(item["id"]) is not None, f"MIG {name}: id {item.get('id')!r}")
        need_timestamp(item.get("creationTimestamp"), f"MIG {name} creationTimestamp")
        link = f"{self.base}/regions/{region}/instanceGroupManagers/{name}"
        need(item.get("selfLink") == link, f"MIG {name}: selfLink {item.get('selfLink')!r}, expected {link}")
        need(item.get("region") == f"{self.base}/regions/{region}", f"MIG {name}: region {item.get('region')!r}")
        need(isinstance(item.get("fingerprint"), str) and item["fingerprint"] != "", f"MIG {name}: no fingerprint")
        need(isinstance(item.get("targetSize"), int), f"MIG {name}: targetSize {item.get('targetSize')!r}")
        versions = item.get("versions", [])
        need(len(versions) >= 1, f"MIG {name}: no versions")
        for version in versions:
            template = version.get("instanceTemplate", "")
            need(template.startswith(f"{self.base}/global/instanceTemplates/"),
                 f"MIG {name}: version template {template!r} is not a full URL")
        policy = item.get("updatePolicy", {})
        for key in ("type", "minimalAction", "mostDisruptiveAllowedAction"):
            need(key in policy, f"MIG {name}: updatePolicy.{key} missing")
        status = item.get("status", {})
        need(isinstance(status.get("isStable"), bool), f"MIG {name}: status.isStable {status.get('isStable')!r}")
        need(isinstance(status.get("versionTarget", {}).get("isReached"), bool),
             f"MIG {name}: status.versionTarget.isReached missing")
        for zone in item.get("distributionPolicy", {}).get("zones", []):
            need(zone.get("zone", "").startswith(f"{self.base}/zones/{region}-"), f"MIG {name}: zone {zone!r}")

    def pick_mig(self, listed: Optional[list[dict]]) -> Optional[dict]:
        if not listed:
            return None
        # A MIG another tool switched to PROACTIVE shows the patch's effect best; a testing MIG touches no prod one.
        proactive = [m for m in listed if m.get("updatePolicy", {}).get("type") == "PROACTIVE"]
        testing = [m for m in listed if "-testing-" in m["name"]]
        return sorted(proactive or testing or listed, key=lambda m: m["name"])[0]

    def region_of(self, mig: dict) -> str:
        return mig["region"].rsplit("/", 1)[-1]

    def mig_get(self, mig: dict) -> None:
        region = self.region_of(mig)
        got = self.migs.get(project=self.project, region=region, instance_group_manager=mig["name"])
        raw = self.migs_raw.last_json()
        need_shape(raw, compute.InstanceGroupManager, f"MIG {mig['name']}")
        self.need_mig_resource(raw, region)
        need(got.name == mig["name"] and str(got.id) == mig["id"], "get answers another MIG than the list showed")
        need(got.self_link == mig["selfLink"], "get and list disagree on selfLink")

    def patch_lower_case(self, mig: dict) -> compute.Operation:
        """Lower-case enum values, as a real update script sends them; GCP accepts them."""
        region = self.region_of(mig)
        body = compute.InstanceGroupManager(
            update_policy=compute.InstanceGroupManagerUpdatePolicy(
                type_="opportunistic", minimal_action="replace", most_disruptive_allowed_action="replace"))
        request = compute.PatchRegionInstanceGroupManagerRequest(
            project=self.project, region=region, instance_group_manager=mig["name"],
            instance_group_manager_resource=body, request_id=str(uuid.uuid4()))
        operation = self.migs.patch_unary(request=request)
        raw = self.migs_raw.last_json()
        self.need_operation(raw, mig, "patch answer")
        return operation

    def need_operation(self, raw: dict, mig: dict, what: str) -> None:
        region = self.region_of(mig)
        need_shape(raw, compute.Operation, what)
        need(raw.get("kind") == "compute#operation", f"{what}: kind {raw.get('kind')!r}")
        need(raw.get("status") in OPERATION_STATUSES, f"{what}: status {raw.get('status')!r}")
        progress = raw.get("progress", 0)
        need(isinstance(progress, int) and 0 <= progress <= 100, f"{what}: progress {progress!r}")
        name = raw.get("name", "")
        need(name != "", f"{what}: no operation name")
        need(raw.get("selfLink") == f"{self.base}/regions/{region}/operations/{name}",
             f"{what}: selfLink {raw.get('selfLink')!r}")
        need(raw.get("targetLink") == mig["selfLink"], f"{what}: targetLink {raw.get('targetLink')!r}, expected the MIG's")
        need(raw.get("targetId") == mig["id"], f"{what}: targetId {raw.get('targetId')!r}, expected {mig['id']}")
        need(raw.get("region") == f"{self.base}/regions/{region}", f"{what}: region {raw.get('region')!r}")
        need(raw.get("operationType") == "patch", f"{what}: operationType {raw.get('operationType')!r}")
        need(isinstance(raw.get("id"), str) and DIGITS.match(raw["id"]) is not None, f"{what}: id {raw.get('id')!r}")
        need_timestamp(raw.get("insertTime"), f"{what} insertTime")
        if raw["status"] != "PENDING":
            need_timestamp(raw.get("startTime"), f"{what} startTime")
        if raw["status"] == "DONE":
            need_timestamp(raw.get("endTime"), f"{what} endTime")
            need(progress == 100, f"{what}: DONE with progress {progress}")
            need("error" not in raw, f"{what}: failed: {raw.get('error')}")
        else:
            need("endTime" not in raw, f"{what}: {raw['status']} with an endTime")

    def wait_until_done(self, mig: dict, operation: compute.Operation) -> str:
        """regionOperations.wait returns when the operation is DONE or after up to two minutes: loop until DONE."""
        region = self.region_of(mig)
        statuses = [compute.Operation.Status(operation.status).name]
        deadline = time.monotonic() + 120
        current = operation
        waits = 0
        while compute.Operation.Status(current.status).name != "DONE":
            need(time.monotonic() < deadline, f"operation not DONE after 120 s of real time: {statuses}")
            current = self.operations.wait(project=self.project, region=region, operation=operation.name)
            waits += 1
            raw = self.operations_raw.last_json()
            self.need_operation(raw, mig, f"wait answer {waits}")
            need(raw["name"] == operation.name, f"wait answered another operation: {raw['name']}")
            statuses.append(raw["status"])
        order = [OPERATION_STATUSES.index(status) for status in statuses]
        need(order == sorted(order), f"operation status went backwards: {statuses}")
        return f"{waits} waits: {statuses}"

    def get_after_patch(self, mig: dict) -> None:
        region = self.region_of(mig)
        self.migs.get(project=self.project, region=region, instance_group_manager=mig["name"])
        raw = self.migs_raw.last_json()
        need_shape(raw, compute.InstanceGroupManager, f"MIG {mig['name']} after the patch")
        policy = raw.get("updatePolicy", {})
        shown = {key: policy.get(key) for key in ("type", "minimalAction", "mostDisruptiveAllowedAction")}
        need(shown == {"type": "OPPORTUNISTIC", "minimalAction": "REPLACE", "mostDisruptiveAllowedAction": "REPLACE"},
             f"after patching lower-case values, get shows {shown}; GCP shows them upper-case")

    def list_managed_instances(self, mig: dict) -> None:
        region = self.region_of(mig)
        instances = list(self.migs.list_managed_instances(
            project=self.project, region=region, instance_group_manager=mig["name"]))
        raw = self.migs_raw.last_json()
        need_shape(raw, compute.RegionInstanceGroupManagersListInstancesResponse, "listManagedInstances answer")
        names = [instance.name for instance in instances]
        need(len(names) == len(set(names)), f"an instance is listed twice: {names}")
        for item in raw.get("managedInstances", []):
            url = item.get("instance", "")
            need(re.fullmatch(rf"{re.escape(self.base)}/zones/{region}-[a-z]/instances/[a-z][-a-z0-9]*", url) is not None,
                 f"instance URL {url!r}")
            need(url.rsplit("/", 1)[-1] == item.get("name"), f"instance name {item.get('name')!r} is not its URL's")
            need("currentAction" in item, f"{item.get('name')}: no currentAction")
            template = item.get("version", {}).get("instanceTemplate", "")
            need(template.startswith(f"{self.base}/global/instanceTemplates/"), f"version template {template!r}")

    def missing_mig(self) -> None:
        region = self.fleet_regions[0]
        name = "gh-runner-no-such-mig"
        try:
            self.migs.get(project=self.project, region=region, instance_group_manager=name)
        except gexc.NotFound as error:
            self.need_error(error, self.migs_raw, 404, "notFound")
            resource = f"projects/{self.project}/regions/{region}/instanceGroupManagers/{name}"
            need(resource in error.message, f"message {error.message!r} does not name {resource}")
            return
        raise CheckFailed("getting a missing MIG did not raise NotFound")

    def need_error(self, error: gexc.GoogleAPICallError, recorder: RawRecorder, code: int, reason: str) -> None:
        need(error.code == code, f"error code {error.code}, expected {code}")
        reasons = [item.get("reason") for item in error.errors if isinstance(item, dict)]
        need(reasons[:1] == [reason], f"the client parsed reasons {reasons}, expected [{reason!r}]")
        raw = recorder.last_json()
        need(isinstance(raw, dict) and set(raw) == {"error"}, f"error body keys {sorted(raw) if isinstance(raw, dict) else raw}")
        body = raw["error"]
        extra = set(body) - {"code", "message", "errors", "status", "details"}
        need(not extra, f"error body has fields Google's errors do not: {sorted(extra)}")
        need(body.get("code") == code and isinstance(body.get("message"), str), f"error body {body}")
        for item in body.get("errors", []):
            unknown = set(item) - {"message", "domain", "reason", "location", "locationType", "extendedHelp", "sendReport"}
            need(not unknown, f"error item has unknown fields {sorted(unknown)}")
            need(item.get("domain") == "global", f"error domain {item.get('domain')!r}")

    # -- instance templates

    def templates_list(self) -> list[dict]:
        request = compute.ListInstanceTemplatesRequest(project=self.project, max_results=4)
        seen: dict[str, dict] = {}
        pages = 0
        for page in self.templates.list(request=request).pages:
            pages += 1
            need(pages <= 200, "more than 200 pages; the page token does not advance")
            raw = self.templates_raw.last_json()
            need_shape(raw, compute.InstanceTemplateList, f"template page {pages}")
            need(raw.get("kind") == "compute#instanceTemplateList", f"kind {raw.get('kind')!r}")
            items = raw.get("items", [])
            need(len(items) <= 4, f"page {pages}: {len(items)} items with maxResults=4")
            for item in items:
                name = item.get("name")
                need(name not in seen, f"template {name} is listed twice")
                need(item.get("kind") == "compute#instanceTemplate", f"template {name}: kind {item.get('kind')!r}")
                need(item.get("selfLink") == f"{self.base}/global/instanceTemplates/{name}",
                     f"template {name}: selfLink {item.get('selfLink')!r}")
                need_timestamp(item.get("creationTimestamp"), f"template {name} creationTimestamp")
                need(isinstance(item.get("properties"), dict), f"template {name}: no properties")
                seen[name] = item
        need(pages > 1, "templates fitted one page of 4: paging was not exercised")
        expected = {template["name"] for template in self.state["templates"]}
        need(expected <= set(seen), f"templates not listed: {sorted(expected - set(seen))}")
        return list(seen.values())

    def template_get(self, listed: dict) -> None:
        got = self.templates.get(project=self.project, instance_template=listed["name"])
        raw = self.templates_raw.last_json()
        need_shape(raw, compute.InstanceTemplate, f"template {listed['name']}")
        need(raw == listed, "get and list answer the template differently")
        need(got.name == listed["name"], "get answered another template")

    def missing_template(self) -> None:
        try:
            self.templates.get(project=self.project, instance_template="gh-runner-no-such-template")
        except gexc.NotFound as error:
            self.need_error(error, self.templates_raw, 404, "notFound")
            return
        raise CheckFailed("getting a missing template did not raise NotFound")


# --------------------------------------------------------------------------------------------------------------
# GitHub: GitHub's documented schemas (the REST API's OpenAPI description) for the parts used


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


def sim_json(url: str, path: str) -> Any:
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=30) as response:
        return json.loads(response.read())


def sim_now(url: str) -> float:
    """The simulator's clock in epoch seconds: the time its GitHub rate-limit windows are counted in."""
    now = sim_json(url, "/_sim/clock")["now"]
    return datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the simulator, e.g. http://127.0.0.1:8080")
    parser.add_argument("--project", default="iree-oss")
    parser.add_argument("--org", default="iree-org")
    parser.add_argument("--token", default="second-client-token")
    args = parser.parse_args()

    report = Report()
    state = sim_json(args.url, "/_sim/state")
    need_state = state.get("project") == args.project and state.get("org") == args.org
    if not need_state:
        print(f"FAIL setup: the simulator serves project {state.get('project')!r} and org {state.get('org')!r}",
              file=sys.stderr)
        return 2
    ComputeChecks(report, args.url, args.project, state).run()
    GitHubChecks(report, args.url, args.org, args.token).run()

    total = len(report.passed) + len(report.failed)
    print(f"second client: {len(report.passed)} of {total} checks passed", file=sys.stderr)
    if report.failed:
        print("failed checks: " + ", ".join(name for name, _ in report.failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
