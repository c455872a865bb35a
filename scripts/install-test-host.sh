#!/bin/bash
# Installs the Debian packages the test suite uses (needs root): nftables and iproute2 for the
# network-namespace lab, iperf3 for the benchmarks, shellcheck, shfmt and cloud-init for the user-data
# checks, awscli for the route self-claim lab, curl/socat/conntrack for the lab's probes.
set -euo pipefail
packages=(nftables iproute2 iperf3 shellcheck shfmt cloud-init awscli curl socat conntrack iptables procps python3 util-linux)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
