#!/usr/bin/env bash
# Registers this VM as an ephemeral runner (one job, then the VM deletes itself). The labels must stay equal to
# customRunnerLabels() in runner-config/labels.ts; a test runs this script against both.
set -euo pipefail

config_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "${config_dir}/lib.sh"

hostname="$(metadata instance/name)"
zone="$(basename "$(metadata instance/zone)")"
machine_type="$(basename "$(metadata instance/machine-type)")"
cpu_platform="$(metadata instance/cpu-platform || true)"
scope="$(attribute github-runner-scope)"
group="$(attribute github-runner-group)"
trust="$(attribute github-runner-trust)"
type="$(attribute github-runner-type)"
runner_version="$(attribute github-runner-version)"
config_ref="$(attribute github-runner-config-ref)"

# MIGs cannot give instances per-MIG metadata, so the environment comes from the MIG-derived hostname; that is
# what lets one template be tested in the testing MIG and then promoted unchanged to prod.
environment=prod
if [[ "$hostname" == *-testing-* ]]; then
  environment=testing
fi

labels=(
  os-family=Linux
  "hostname=${hostname}"
  "runner-group=${group}"
  "runner-version=${runner_version}"
  "trust=${trust}"
  "environment=${environment}"
  "zone=${zone}"
)
if [[ -n "$cpu_platform" ]]; then
  labels+=("cpu-platform=${cpu_platform}")
fi
labels+=("machine-type=${machine_type}" "config-ref=${config_ref}" "$type")

token="$(runner_token register "$scope")"
(
  IFS=,
  "${RUNNER_ROOT}/actions-runner/config.sh" --token "$token" --unattended --ephemeral --disableupdate \
    --url "https://github.com/${scope}" --name "$hostname" --replace --runnergroup "$group" --labels "${labels[*]}"
)
