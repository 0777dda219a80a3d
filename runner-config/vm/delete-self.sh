#!/usr/bin/env bash
# Runs when the ephemeral runner exits. The VM asks the instance deleter to delete it through its MIG, which
# also lowers the MIG's target size so the autoscaler adds a VM on the current template. Any other way of
# stopping makes the MIG recreate the VM on its old template, so shutting down is only the fallback.
set -uo pipefail

config_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "${config_dir}/lib.sh"

delete_through_mig() {
  local deleter token
  deleter="$(attribute instance-self-deleter-url)" || return 1
  token="$(id_token "$deleter" full)" || return 1
  curl -fsS --retry "$HTTP_RETRIES" --retry-all-errors -X DELETE -H "Authorization: Bearer ${token}" "${deleter}/"
}

if delete_through_mig; then
  exit 0
fi
echo "self-deletion through the MIG failed; shutting down instead" >&2
sudo shutdown -P now
