#!/usr/bin/env bash
# ACTIONS_RUNNER_HOOK_JOB_STARTED: refuses a job whose triggering event this runner's group may not run (a
# basic-trust postsubmit runner never runs pull request code), then gives the work directory to the runner user.
set -euo pipefail

hooks_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "${hooks_dir}/../lib.sh"

group="$(attribute github-runner-group)"
event="${GITHUB_EVENT_NAME:-}"
allow_list="${hooks_dir}/allowed-events"

if ! grep -qxF "${group} ${event}" "$allow_list"; then
  allowed="$(awk -v group="$group" '$1 == group { printf "%s%s", sep, $2; sep = ", " }' "$allow_list")"
  echo "Refusing this job: runner group '${group}' does not run jobs triggered by '${event:-(none)}'" \
    "(allowed: ${allowed:-nothing})." >&2
  # The runner has already downloaded the job's actions; leave nothing of a refused job on the VM.
  rm -rf "${RUNNER_ROOT}/actions-runner/_work/_actions" "${RUNNER_ROOT}/actions-runner/_work/_temp"
  exit 1
fi

sudo chown -R "${RUNNER_USER}:${RUNNER_USER}" "$RUNNER_ROOT"
