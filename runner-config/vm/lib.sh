# shellcheck shell=bash
# Shared by the runner VM scripts. The endpoints are variables so that tests can point them at local fakes.

METADATA_URL="${METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
RUNNER_ROOT="${RUNNER_ROOT:-/runner-root}"
RUNNER_USER="${RUNNER_USER:-runner}"
# Token proxy and deleter run on Cloud Run, which answers an occasional cold start with a 5xx.
HTTP_RETRIES="${HTTP_RETRIES:-3}"

metadata() {
  curl -fsS --retry 5 --retry-connrefused -H 'Metadata-Flavor: Google' "${METADATA_URL}/$1"
}

attribute() {
  metadata "instance/attributes/$1"
}

# An ID token for audience $1. Format `full` adds the instance claims the instance deleter relies on.
id_token() {
  curl -fsS --retry 5 --retry-connrefused -G -H 'Metadata-Flavor: Google' \
    --data-urlencode "audience=$1" --data-urlencode "format=${2:-standard}" \
    "${METADATA_URL}/instance/service-accounts/default/identity"
}

# A registration (action `register`) or removal (action `remove`) token for scope $2 from the token proxy.
runner_token() {
  local action="$1" scope="$2" proxy id token
  proxy="$(attribute github-token-proxy-url)"
  id="$(id_token "$proxy")"
  token="$(
    curl -fsS --retry "$HTTP_RETRIES" --retry-all-errors -X POST \
      -H "Authorization: Bearer ${id}" -H 'Content-Type: application/json' \
      --data "$(jq -cn --arg scope "$scope" '{scope: $scope}')" "${proxy}/${action}" | jq -er '.token'
  )" || {
    echo "the token proxy ${proxy} gave no ${action} token for ${scope}" >&2
    return 1
  }
  printf '%s' "$token"
}
