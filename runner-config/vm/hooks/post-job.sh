#!/usr/bin/env bash
# ACTIONS_RUNNER_HOOK_JOB_COMPLETED: empties the job's workspace, which can hold a 1 TB disk's worth of build.
set -euo pipefail

hooks_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "${hooks_dir}/../lib.sh"

workspace="${GITHUB_WORKSPACE:-}"
# Only ever delete inside the runner's own tree, whatever the job set GITHUB_WORKSPACE to.
if [[ "$workspace" != "${RUNNER_ROOT}/actions-runner/_work/"?* ]]; then
  echo "not cleaning workspace '${workspace}': it is outside ${RUNNER_ROOT}/actions-runner/_work" >&2
  exit 0
fi
sudo rm -rf "$workspace"
mkdir -p "$workspace"
