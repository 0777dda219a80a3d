"""Compute: regions, MIGs, operations and instance templates, through Google's Python client."""

from __future__ import annotations

import re
import time
import uuid
from typing import Optional

from google.api_core import exceptions as gexc
from google.cloud import compute_v1
from google.cloud.compute_v1.types import compute

from checks.compute_client import RawRecorder, compute_client
from checks.report import CheckFailed, Report, need
from checks.shapes import need_shape, need_timestamp

SELF_LINK_ROOT = "https://www.googleapis.com/compute/v1"
DIGITS = re.compile(r"^\d+$")
OPERATION_STATUSES = ["PENDING", "RUNNING", "DONE"]


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
