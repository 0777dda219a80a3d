#!/usr/bin/env bash
# Best-effort removal of this runner from GitHub on shutdown; GitHub also forgets offline ephemeral runners
# after a day.
set -euo pipefail

config_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "${config_dir}/lib.sh"

token="$(runner_token remove "$(attribute github-runner-scope)")"
"${RUNNER_ROOT}/actions-runner/config.sh" remove --token "$token"
