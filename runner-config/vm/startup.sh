#!/usr/bin/env bash
# The instance template's startup-script, run as root on every boot: fetches runner-config/vm at the commit
# the template pins (never tip of tree, so a template's behaviour cannot change under it) and runs setup.sh.
set -euo pipefail

METADATA_URL="${METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
GITHUB_URL="${GITHUB_URL:-https://github.com}"

attribute() {
  curl -fsS --retry 5 --retry-connrefused -H 'Metadata-Flavor: Google' "${METADATA_URL}/instance/attributes/$1"
}

repo="$(attribute github-runner-config-repo)"
ref="$(attribute github-runner-config-ref)"
workdir="$(mktemp -d)"
curl -fsSL --retry 5 "${GITHUB_URL}/${repo}/archive/${ref}.tar.gz" |
  tar -xz -C "$workdir" --strip-components=1 --wildcards '*/runner-config/vm'
exec "${workdir}/runner-config/vm/setup.sh"
