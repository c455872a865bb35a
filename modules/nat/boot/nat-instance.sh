#!/bin/bash
# cdktf-nat-instance boot script (first version: forwarding + masquerade).
# Runs at every boot from /var/lib/cloud/scripts/per-boot; reads /etc/nat-instance/settings.
set -euo pipefail

SETTINGS_FILE=${NAT_SETTINGS_FILE:-/etc/nat-instance/settings}

fail() { echo "nat-instance: FAILED: $*" >&2; exit 1; }

read_settings() {
  [[ -r $SETTINGS_FILE ]] || fail "settings file $SETTINGS_FILE not found"
  local key value
  while IFS='=' read -r key value; do
    case $key in
      '' | '#'*) ;;
      NAT_MODE) NAT_MODE=$value ;;
      NAT_PRIVATE_CIDRS) NAT_PRIVATE_CIDRS=$value ;;
      *) ;;
    esac
  done < "$SETTINGS_FILE"
  [[ ${NAT_MODE:-} == single || ${NAT_MODE:-} == dual ]] || fail "NAT_MODE must be single or dual"
  [[ -n ${NAT_PRIVATE_CIDRS:-} ]] || fail "NAT_PRIVATE_CIDRS is empty"
}

main() {
  read_settings
  local public_if
  public_if=$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
  [[ -n $public_if ]] || fail "no default route, cannot find the public interface"
  sysctl -q -w net.ipv4.ip_forward=1
  local sources=${NAT_PRIVATE_CIDRS//,/, }
  nft -f - <<NFT
table ip nat_instance
delete table ip nat_instance
table ip nat_instance {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "$public_if" ip saddr { $sources } masquerade
  }
}
NFT
  echo "nat-instance: ready (mode $NAT_MODE, public interface $public_if)"
}

main "$@"
