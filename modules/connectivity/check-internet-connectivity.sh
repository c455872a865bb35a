#!/bin/sh
# Runs on a private test instance through SSM Run Command (document TestInternetConnectivity):
# asks a what-is-my-IP service which address our traffic leaves with and compares it with the
# NAT's public IP. The document's parameters arrive only as environment variables
# (interpolationType ENV_VAR: SSM_expectedIp, SSM_checkUrl, SSM_timeoutSeconds), never spliced
# into this text. Plain POSIX sh: the agent runs the script file with `sh`.
# Exit 0: an IPv4 answer that equals SSM_expectedIp (or any answer when it is empty). Exit 1 otherwise.
set -eu

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

read_parameters() {
  if [ "${SSM_expectedIp+set}" != set ] || [ "${SSM_checkUrl+set}" != set ] || [ "${SSM_timeoutSeconds+set}" != set ]; then
    fail "SSM_expectedIp, SSM_checkUrl or SSM_timeoutSeconds is not set: ENV_VAR interpolation needs SSM Agent 3.3.2746.0 or later"
  fi
  expected_ip=${SSM_expectedIp-}
  check_url=${SSM_checkUrl-}
  timeout_seconds=${SSM_timeoutSeconds-}
}

is_ipv4() {
  case "$1" in
    *[!0-9.]* | '' | .* | *. | *..*) return 1 ;;
  esac
  [ "$(echo "$1" | tr -cd . | wc -c)" -eq 3 ]
}

fetch_observed_ip() {
  # --max-time bounds the whole exchange, so a missing route fails within the timeout.
  if ! answer=$(curl --silent --show-error --fail --max-time "${timeout_seconds}" "${check_url}"); then
    fail "no answer from ${check_url} within ${timeout_seconds}s"
  fi
  observed_ip=$(printf '%s' "${answer}" | tr -d '[:space:]')
  is_ipv4 "${observed_ip}" || fail "${check_url} answered something that is not an IPv4 address"
}

main() {
  read_parameters
  fetch_observed_ip
  echo "observed IP: ${observed_ip}"
  if [ -z "${expected_ip}" ]; then
    echo "OK: no expected IP given, egress works"
  elif [ "${observed_ip}" = "${expected_ip}" ]; then
    echo "OK: egress leaves with the expected IP ${expected_ip}"
  else
    fail "egress leaves with ${observed_ip}, expected ${expected_ip}"
  fi
}

main
