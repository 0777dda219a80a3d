#!/usr/bin/env bash
# ExecStart of gh-runner.service: the listener itself rather than runsvc.sh, so that systemd sees the runner
# exit after its single job and runs delete-self.sh.
set -euo pipefail

config_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "${config_dir}/lib.sh"

cd "${RUNNER_ROOT}/actions-runner"
exec bin/Runner.Listener run --startuptype service
