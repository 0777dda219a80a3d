#!/usr/bin/env bash
# Runs as root on every boot (from startup.sh): installs the runner release the template names after checking
# its SHA-256, registers an ephemeral runner, and starts the runner, health check and deregistration units.
set -euo pipefail

config_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "${config_dir}/lib.sh"
SYSTEMD_DIR="${SYSTEMD_DIR:-/etc/systemd/system}"

# -p and a fresh copy: a rebooted VM runs this again and must end up in the same state.
mkdir -p "$RUNNER_ROOT"
rm -rf "${RUNNER_ROOT}/config"
cp -r "$config_dir" "${RUNNER_ROOT}/config"

archive_url="$(attribute github-runner-archive-url)"
archive_digest="$(attribute github-runner-archive-digest)"
runner_dir="${RUNNER_ROOT}/actions-runner"
archive="$(mktemp)"
curl -fsSL --retry 5 -o "$archive" "$archive_url"
if ! echo "${archive_digest}  ${archive}" | sha256sum --check --strict --quiet; then
  echo "runner archive ${archive_url} does not have the SHA-256 ${archive_digest} the template expects" >&2
  rm -f "$archive"
  exit 1
fi
rm -rf "$runner_dir"
mkdir -p "$runner_dir"
tar -xzf "$archive" -C "$runner_dir"
rm -f "$archive"
ln -sf ../config/runner.env "${runner_dir}/.env"
chown -R "${RUNNER_USER}:${RUNNER_USER}" "$RUNNER_ROOT"

# Registration failing stops here, before the health server starts: the failing health check makes the MIG
# recreate the VM instead of leaving an idle VM without a runner.
sudo -u "$RUNNER_USER" --preserve-env=METADATA_URL,RUNNER_ROOT,HTTP_RETRIES "${RUNNER_ROOT}/config/register.sh"

cp "${config_dir}"/systemd/* "${SYSTEMD_DIR}/"
systemctl daemon-reload
for unit in "${config_dir}"/systemd/*; do
  systemctl enable "$(basename "$unit")"
done
systemctl start runner-setup.target
