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
import sys

from checks.compute import ComputeChecks
from checks.github import GitHubChecks
from checks.report import Report
from checks.simulator import sim_json


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
