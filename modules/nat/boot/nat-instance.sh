#!/bin/bash
# cdktf-nat-instance boot script: turns this host into the NAT for the private subnets.
#
# Runs at every boot from cloud-init's per-boot directory and converges: a second run leaves
# the same ruleset, routes and kernel settings. It reads /etc/nat-instance/settings once,
# validates every setting and finds its interfaces before it changes anything, then:
#   1. loads its own nftables table atomically (masquerade, or source NAT over every address of
#      the public interface; forward accepts, MSS clamping, port forwards), so a failure leaves
#      the previous ruleset in place;
#   2. sets the kernel (forwarding, redirects, reverse-path filter, conntrack size);
#   3. adds return routes for private subnets that are not on-link (dual mode);
#   4. opens Docker's DOCKER-USER chain for the NAT flows when Docker is present;
#   5. persists the kernel settings and routes (sysctl.d, systemd-networkd drop-in);
#   6. checks the result as the kernel has it (forwarding, masquerade, return paths);
#   7. associates its Elastic IP with its public interface (NAT_ELASTIC_IP_ALLOCATION_ID, self-healing);
#   8. claims the private route tables (NAT_ROUTE_MODE=self-claim only).
# A self-healing dual-mode NAT first attaches its static forwarding interface
# (NAT_FORWARDING_INTERFACE_ID), which a replacement takes over from the instance it replaces.
# Every step is logged to /var/log/nat-instance.log and the console; the last line is a
# one-line summary, and /var/lib/nat-instance/status says how the boot ended.
#
# Nothing optional may cost the NAT its primary job, egress: a bad port forward, conntrack size,
# public address count,
# interface wait or unknown line is refused loudly (a REFUSED line, the summary, the status file,
# exit 2) and the NAT comes up without it. What egress depends on (mode, private CIDRs, forwarding
# subnet, route mode and tables, interfaces, ruleset, forwarding) stops the boot with a one-line
# reason and exit 1 instead, before anything changes where it can.
set -euo pipefail

readonly SETTINGS_FILE=/etc/nat-instance/settings
readonly LOG_FILE=/var/log/nat-instance.log
readonly STATUS_FILE=/var/lib/nat-instance/status
readonly SYSCTL_FILE=/etc/sysctl.d/90-nat-instance.conf
readonly NETWORKD_DIR=/etc/systemd/network
readonly NFT_TABLE=nat_instance
# Internet paths carry 1500-byte packets while the VPC uses 9001: 1500 - 40 bytes of headers.
readonly INTERNET_MSS=1460
readonly INSTALL_ATTEMPTS=3
readonly DEFAULT_INTERFACE_WAIT_SECONDS=120
readonly DEFAULT_CONNTRACK_MAX=262144
readonly DEFAULT_PUBLIC_ADDRESS_COUNT=1
# Fixed, so a flow maps to the same public address after a reboot or a lost tracking entry.
readonly SNAT_HASH_SEED=0x6e617421

# Settings (filled by read_settings, validated by validate_settings).
NAT_MODE=''
NAT_PRIVATE_CIDRS=''
NAT_FORWARDING_SUBNET_CIDR=''
NAT_INTERFACE_WAIT_SECONDS=$DEFAULT_INTERFACE_WAIT_SECONDS
NAT_CONNTRACK_MAX=$DEFAULT_CONNTRACK_MAX
NAT_ROUTE_MODE=terraform
NAT_ROUTE_TABLE_IDS=''
NAT_ELASTIC_IP_ALLOCATION_ID=''
NAT_FORWARDING_INTERFACE_ID=''
NAT_DISABLE_SOURCE_DEST_CHECK=false
NAT_PUBLIC_ADDRESS_COUNT=$DEFAULT_PUBLIC_ADDRESS_COUNT
PRIVATE_CIDRS=()
ROUTE_TABLE_IDS=()
PORT_FORWARDS=()

# Discovered (filled by discover_interfaces).
PUBLIC_IF=''
PUBLIC_ADDRESS=''
PUBLIC_ADDRESSES=()
FORWARDING_IF=''
FORWARDING_ADDRESS=''
RETURN_GATEWAY=''
RETURN_CIDRS=()
DOCKER_USER_CHAINS=0
WARNINGS=0
# What was refused this boot, one "what: why" each (optional settings the NAT runs without).
REFUSED=()
START_SECONDS=$SECONDS

log() {
  local line="nat-instance: $*"
  echo "$line"
  { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$line" >> "$LOG_FILE"; } 2> /dev/null || true
}

warn() {
  WARNINGS=$((WARNINGS + 1))
  log "WARNING: $*"
}

# The one-line reason of a failure; nothing after it runs.
fail() {
  local line="nat-instance: FAILED: $*"
  echo "$line" >&2
  { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$line" >> "$LOG_FILE"; } 2> /dev/null || true
  write_status failed "$*"
  exit 1
}

# Something optional the NAT cannot honour: said loudly (console, log, status file, exit 2), and
# the NAT comes up without it. Nothing optional may cost the NAT its primary job.
refuse() {
  REFUSED+=("$*")
  local line="nat-instance: REFUSED: $*"
  echo "$line" >&2
  { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$line" >> "$LOG_FILE"; } 2> /dev/null || true
}

# How this boot ended, for monitoring (an agent, SSM Run Command, a health check): state=starting,
# ready (exit 0), degraded (exit 2: egress up, something optional refused) or failed (exit 1); the
# summary or the reason; one refused= line per refused setting. Rewritten at every boot.
write_status() {
  local state=$1 detail=$2 item
  {
    mkdir -p "${STATUS_FILE%/*}" &&
      {
        printf '# Written by nat-instance.sh at every boot; see its README for the states.\n'
        printf 'state=%s\ntime=%s\ndetail=%s\n' "$state" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$detail"
        for item in "${REFUSED[@]}"; do
          printf 'refused=%s\n' "$item"
        done
      } > "$STATUS_FILE.tmp" && mv -f "$STATUS_FILE.tmp" "$STATUS_FILE"
  } 2> /dev/null || true
}

# ---------------------------------------------------------------------------------------------
# IPv4 arithmetic (pure bash, so validation needs no external tool).

is_ipv4() {
  local octet_re='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
  [[ $1 =~ ^$octet_re\.$octet_re\.$octet_re\.$octet_re$ ]]
}

ipv4_to_int() {
  local a b c d
  IFS=. read -r a b c d <<< "$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ipv4() {
  echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

prefix_mask() {
  if (($1 == 0)); then echo 0; else echo $(((0xffffffff << (32 - $1)) & 0xffffffff)); fi
}

# The VPC router of a subnet: its network address + 1 (10.8.1.0/24 -> 10.8.1.1).
subnet_router() {
  int_to_ipv4 $(($(ipv4_to_int "${1%/*}") + 1))
}

# A CIDR block with no host bits set, as AWS requires.
is_cidr() {
  local address=${1%/*} prefix=${1#*/}
  [[ $1 == */* ]] && is_ipv4 "$address" && [[ $prefix =~ ^([0-9]|[12][0-9]|3[0-2])$ ]] || return 1
  (($(ipv4_to_int "$address") & ~$(prefix_mask "$prefix") & 0xffffffff)) && return 1
  return 0
}

# cidr_contains OUTER INNER: every address of the block (or address) INNER lies in OUTER.
cidr_contains() {
  local outer_prefix=${1#*/} inner=$2 inner_prefix=32
  [[ $inner == */* ]] && inner_prefix=${inner#*/}
  ((inner_prefix >= outer_prefix)) || return 1
  local mask
  mask=$(prefix_mask "$outer_prefix")
  (($(($(ipv4_to_int "${inner%/*}") & mask)) == $(ipv4_to_int "${1%/*}")))
}

# ---------------------------------------------------------------------------------------------
# Pure checks: each prints what is wrong with a value, or nothing. They change nothing, so the
# unit tests source this file and compare them with the constructs' rules
# (modules/nat/nat-settings.ts, test/unit/boot-script-rules.test.ts).

# setting_problem KEY VALUE (NAT_PORT_FORWARD targets are checked against PRIVATE_CIDRS).
setting_problem() {
  local key=$1 value=$2
  case $key in
    NAT_MODE) one_of_problem "$value" single dual ;;
    NAT_PRIVATE_CIDRS) list_problem "$value" cidr ;;
    NAT_FORWARDING_SUBNET_CIDR) is_cidr "$value" || echo "must be an IPv4 CIDR block, got '$value'" ;;
    NAT_INTERFACE_WAIT_SECONDS) integer_problem "$value" 0 3600 ;;
    NAT_CONNTRACK_MAX) integer_problem "$value" 1024 67108864 ;;
    NAT_PUBLIC_ADDRESS_COUNT) integer_problem "$value" 1 50 ;;
    NAT_ROUTE_MODE) one_of_problem "$value" terraform self-claim ;;
    NAT_ROUTE_TABLE_IDS) list_problem "$value" route_table_id ;;
    NAT_PORT_FORWARD) port_forward_problem "$value" ;;
    NAT_ELASTIC_IP_ALLOCATION_ID) [[ $value =~ ^eipalloc-[0-9a-f]+$ ]] || echo "must be an Elastic IP allocation ID (eipalloc-...), got '$value'" ;;
    NAT_FORWARDING_INTERFACE_ID) [[ $value =~ ^eni-[0-9a-f]+$ ]] || echo "must be a network-interface ID (eni-...), got '$value'" ;;
    NAT_DISABLE_SOURCE_DEST_CHECK) one_of_problem "$value" true false ;;
    *) echo "is not a setting this script knows" ;;
  esac
}

# is_integer_between VALUE MIN MAX (decimal digits only, no sign).
is_integer_between() {
  [[ $1 =~ ^[0-9]{1,10}$ ]] || return 1
  ((10#$1 >= $2 && 10#$1 <= $3))
}

integer_problem() {
  is_integer_between "$1" "$2" "$3" || echo "must be an integer from $2 to $3, got '$1'"
}

# one_of_problem VALUE ALLOWED...
one_of_problem() {
  local value=$1 allowed
  shift
  for allowed in "$@"; do
    [[ $value == "$allowed" ]] && return 0
  done
  echo "must be $(join_by ' or ' "$@"), got '$value'"
}

# list_problem LIST KIND: a comma-separated list without empty items, each a KIND (cidr or route_table_id).
list_problem() {
  local list=$1 kind=$2 item
  [[ -n $list ]] || { echo "is empty"; return 0; }
  [[ $list != ,* && $list != *, && $list != *,,* ]] || { echo "has an empty item: '$list'"; return 0; }
  local -a items
  IFS=, read -r -a items <<< "$list"
  for item in "${items[@]}"; do
    case $kind in
      cidr) is_cidr "$item" || { echo "holds '$item', which is not an IPv4 CIDR block"; return 0; } ;;
      route_table_id) [[ $item =~ ^rtb-[0-9a-f]+$ ]] || { echo "holds '$item', which is not a route-table ID (rtb-...)"; return 0; } ;;
    esac
  done
}

# port_forward_problem ENTRY: <tcp|udp> <public port> <target ip> <target port> <preserve|masquerade> <cidr,...>
port_forward_problem() {
  local protocol public_port target_ip target_port translation sources extra problem
  read -r protocol public_port target_ip target_port translation sources extra <<< "$1"
  [[ -z ${extra:-} && -n ${sources:-} ]] || { echo "must have 6 fields: <tcp|udp> <public port> <target ip> <target port> <preserve|masquerade> <cidr,...>"; return 0; }
  [[ $protocol == tcp || $protocol == udp ]] || { echo "protocol must be tcp or udp, got '$protocol'"; return 0; }
  is_integer_between "$public_port" 1 65535 || { echo "public port must be an integer from 1 to 65535, got '$public_port'"; return 0; }
  is_integer_between "$target_port" 1 65535 || { echo "target port must be an integer from 1 to 65535, got '$target_port'"; return 0; }
  is_ipv4 "$target_ip" || { echo "target '$target_ip' is not an IPv4 address"; return 0; }
  problem=$(target_problem "$target_ip")
  [[ -z $problem ]] || { echo "$problem"; return 0; }
  [[ $translation == preserve || $translation == masquerade ]] || { echo "translation must be preserve or masquerade, got '$translation'"; return 0; }
  problem=$(list_problem "$sources" cidr)
  [[ -z $problem ]] || echo "sources $problem"
}

# Why TARGET cannot receive a forward: it is outside every NAT_PRIVATE_CIDRS block, or one of the
# five addresses AWS reserves in a subnet (the first four and the last).
target_problem() {
  local target=$1 cidr inside='' offset size role
  local -a roles=('the network address' 'the VPC router' 'the DNS server address' 'reserved by AWS for future use')
  for cidr in "${PRIVATE_CIDRS[@]}"; do
    cidr_contains "$cidr" "$target" || continue
    inside=$cidr
    offset=$(($(ipv4_to_int "$target") - $(ipv4_to_int "${cidr%/*}")))
    size=$((1 << (32 - ${cidr#*/})))
    role=''
    if ((offset < ${#roles[@]})); then
      role=${roles[offset]}
    elif ((offset == size - 1)); then
      role='the broadcast address'
    fi
    if [[ -n $role ]]; then
      echo "target $target is $role of $cidr: AWS reserves the first four and the last address of every subnet"
      return 0
    fi
  done
  [[ -n $inside ]] || echo "target $target is not in NAT_PRIVATE_CIDRS"
}

join_by() {
  local separator=$1 first=$2
  shift 2
  printf '%s' "$first" "${@/#/$separator}"
}

# ---------------------------------------------------------------------------------------------
# Settings: read once, without sourcing, then validated as a whole.

read_settings() {
  [[ -r $SETTINGS_FILE ]] || fail "settings file $SETTINGS_FILE is missing or unreadable"
  local line key value number=0
  declare -A seen=()
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    if [[ $line != *=* ]]; then
      refuse "settings line $number is not KEY=value: '$line' (ignored)"
      continue
    fi
    key=${line%%=*}
    value=${line#*=}
    case $key in
      NAT_MODE | NAT_PRIVATE_CIDRS | NAT_FORWARDING_SUBNET_CIDR | NAT_ROUTE_MODE | NAT_ROUTE_TABLE_IDS | \
        NAT_ELASTIC_IP_ALLOCATION_ID | NAT_FORWARDING_INTERFACE_ID | NAT_DISABLE_SOURCE_DEST_CHECK)
        # What is translated, where routes point and what a replacement takes over: two values
        # leave nothing safe to choose.
        [[ -z ${seen[$key]:-} ]] || fail "setting $key appears twice in $SETTINGS_FILE"
        seen[$key]=1
        printf -v "$key" '%s' "$value"
        ;;
      NAT_INTERFACE_WAIT_SECONDS | NAT_CONNTRACK_MAX | NAT_PUBLIC_ADDRESS_COUNT)
        if [[ -n ${seen[$key]:-} ]]; then
          refuse "setting $key appears again on line $number (ignored: the first one counts)"
          continue
        fi
        seen[$key]=1
        printf -v "$key" '%s' "$value"
        ;;
      NAT_PORT_FORWARD) PORT_FORWARDS+=("$value") ;;
      *) refuse "unknown setting '$key' in $SETTINGS_FILE (line $number, ignored)" ;;
    esac
  done < "$SETTINGS_FILE"
  [[ -n ${seen[NAT_MODE]:-} ]] || fail "setting NAT_MODE is missing"
  [[ -n ${seen[NAT_PRIVATE_CIDRS]:-} ]] || fail "setting NAT_PRIVATE_CIDRS is missing"
}

# A setting egress depends on: a bad value stops the boot.
require_valid() {
  local key=$1 problem
  problem=$(setting_problem "$key" "${!key}")
  [[ -z $problem ]] || fail "setting $key $problem"
}

# An optional number: a bad value is refused and the default takes its place.
valid_or_default() {
  local key=$1 default=$2 problem
  problem=$(setting_problem "$key" "${!key}")
  if [[ -n $problem ]]; then
    refuse "setting $key $problem; the default $default is used"
    printf -v "$key" '%s' "$default"
  fi
  printf -v "$key" '%s' "$((10#${!key}))"
}

validate_settings() {
  require_valid NAT_MODE
  require_valid NAT_PRIVATE_CIDRS
  IFS=, read -r -a PRIVATE_CIDRS <<< "$NAT_PRIVATE_CIDRS"
  if [[ $NAT_MODE == dual ]]; then
    [[ -n $NAT_FORWARDING_SUBNET_CIDR ]] || fail "setting NAT_FORWARDING_SUBNET_CIDR is required in dual mode: the forwarding interface's subnet"
    require_valid NAT_FORWARDING_SUBNET_CIDR
  elif [[ -n $NAT_FORWARDING_SUBNET_CIDR ]]; then
    fail "setting NAT_FORWARDING_SUBNET_CIDR applies only to NAT_MODE=dual"
  fi
  require_valid NAT_ROUTE_MODE
  if [[ $NAT_ROUTE_MODE == self-claim ]]; then
    require_valid NAT_ROUTE_TABLE_IDS
    IFS=, read -r -a ROUTE_TABLE_IDS <<< "$NAT_ROUTE_TABLE_IDS"
    is_integer_between "$ROUTE_CLAIM_BACKOFF_MS" 1 60000 ||
      fail "environment NAT_ROUTE_CLAIM_BACKOFF_MS must be an integer from 1 to 60000 (milliseconds), got '$ROUTE_CLAIM_BACKOFF_MS'"
    ROUTE_CLAIM_BACKOFF_MS=$((10#$ROUTE_CLAIM_BACKOFF_MS))
  elif [[ -n $NAT_ROUTE_TABLE_IDS ]]; then
    fail "setting NAT_ROUTE_TABLE_IDS applies only to NAT_ROUTE_MODE=self-claim"
  fi
  # Self-healing (resource IDs written by the construct): a replacement cannot work without them.
  [[ -z $NAT_ELASTIC_IP_ALLOCATION_ID ]] || require_valid NAT_ELASTIC_IP_ALLOCATION_ID
  require_valid NAT_DISABLE_SOURCE_DEST_CHECK
  if [[ -n $NAT_FORWARDING_INTERFACE_ID ]]; then
    [[ $NAT_MODE == dual ]] || fail "setting NAT_FORWARDING_INTERFACE_ID applies only to NAT_MODE=dual"
    require_valid NAT_FORWARDING_INTERFACE_ID
  fi
  valid_or_default NAT_INTERFACE_WAIT_SECONDS "$DEFAULT_INTERFACE_WAIT_SECONDS"
  valid_or_default NAT_CONNTRACK_MAX "$DEFAULT_CONNTRACK_MAX"
  valid_or_default NAT_PUBLIC_ADDRESS_COUNT "$DEFAULT_PUBLIC_ADDRESS_COUNT"
  keep_valid_port_forwards
}

# Each bad forward (or a second one on the same public port) is refused on its own; the NAT
# serves egress and the good forwards.
keep_valid_port_forwards() {
  local entry problem protocol public_port
  local -a accepted=()
  declare -A public_ports=()
  for entry in "${PORT_FORWARDS[@]}"; do
    problem=$(setting_problem NAT_PORT_FORWARD "$entry")
    if [[ -z $problem ]]; then
      read -r protocol public_port _ <<< "$entry"
      public_port=$((10#$public_port))
      [[ -z ${public_ports[$protocol/$public_port]:-} ]] || problem="public port $protocol/$public_port is already forwarded by an earlier line"
    fi
    if [[ -n $problem ]]; then
      refuse "setting NAT_PORT_FORWARD '$entry': $problem; egress and the other forwards are not affected"
      continue
    fi
    public_ports[$protocol/$public_port]=1
    accepted+=("$entry")
  done
  PORT_FORWARDS=("${accepted[@]}")
}

# ---------------------------------------------------------------------------------------------
# Tools and interfaces (still read-only).

# nftables ships with Amazon Linux 2023 standard images; install it only when missing (minimal AMI).
ensure_tools() {
  command -v ip > /dev/null || fail "iproute2 ('ip') is not installed"
  command -v nft > /dev/null && return 0
  command -v dnf > /dev/null || fail "nftables ('nft') is not installed and there is no dnf to install it"
  local attempt
  for ((attempt = 1; attempt <= INSTALL_ATTEMPTS; attempt++)); do
    log "nft is missing: installing nftables (attempt $attempt of $INSTALL_ATTEMPTS)"
    if timeout 300 dnf install -y -q nftables > /dev/null 2>&1 && command -v nft > /dev/null; then
      return 0
    fi
    sleep $((attempt * 5))
  done
  fail "nftables ('nft') is not installed and dnf could not install it after $INSTALL_ATTEMPTS attempts"
}

# The interface (and its address) holding an address inside the CIDR, if any.
interface_in_subnet() {
  local cidr=$1 _index ifname _family address
  while read -r _index ifname _family address _; do
    if cidr_contains "$cidr" "${address%/*}"; then
      echo "$ifname ${address%/*}"
      return 0
    fi
  done < <(ip -4 -o address show)
  return 1
}

# The interface of the default route with the lowest metric, skipping one interface
# (on Amazon Linux 2023 every interface gets a default route; the primary has the lowest metric).
default_route_interface() {
  local skip=$1
  ip -4 route show default | awk -v skip="$skip" '
    { dev = ""; metric = 0
      for (i = 1; i < NF; i++) { if ($i == "dev") dev = $(i + 1); if ($i == "metric") metric = $(i + 1) }
      if (dev != "" && dev != skip && (best == "" || metric < best_metric)) { best = dev; best_metric = metric } }
    END { if (best != "") print best }'
}

first_address_of() {
  ip -4 -o address show dev "$1" scope global | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# Every IPv4 address of an interface, primary first (EC2's secondary private addresses, which
# amazon-ec2-net-utils configures from instance metadata, follow it).
addresses_of() {
  ip -4 -o address show dev "$1" scope global | awk '{ split($4, a, "/"); print a[1] }'
}

# The public interface's addresses: source NAT spreads over them. Waits (within the interface
# wait) until NAT_PUBLIC_ADDRESS_COUNT are configured; fewer is a warning, not a failure: egress
# works on the addresses present, with fewer connections per destination.
discover_public_addresses() {
  local deadline=$1
  mapfile -t PUBLIC_ADDRESSES < <(addresses_of "$PUBLIC_IF")
  if ((${#PUBLIC_ADDRESSES[@]} < NAT_PUBLIC_ADDRESS_COUNT)); then
    log "waiting up to $((deadline > SECONDS ? deadline - SECONDS : 0))s for $NAT_PUBLIC_ADDRESS_COUNT addresses on $PUBLIC_IF (${#PUBLIC_ADDRESSES[@]} configured)"
    while ((${#PUBLIC_ADDRESSES[@]} < NAT_PUBLIC_ADDRESS_COUNT && SECONDS < deadline)); do
      sleep 1
      mapfile -t PUBLIC_ADDRESSES < <(addresses_of "$PUBLIC_IF")
    done
  fi
  if ((${#PUBLIC_ADDRESSES[@]} < NAT_PUBLIC_ADDRESS_COUNT)); then
    warn "$PUBLIC_IF has ${#PUBLIC_ADDRESSES[@]} of NAT_PUBLIC_ADDRESS_COUNT=$NAT_PUBLIC_ADDRESS_COUNT addresses: translating over ${PUBLIC_ADDRESSES[*]} only (are the secondary private addresses assigned to the interface?)"
  elif ((${#PUBLIC_ADDRESSES[@]} > NAT_PUBLIC_ADDRESS_COUNT)); then
    # Addresses someone else added (not EC2's): only the configured number is ours to use.
    PUBLIC_ADDRESSES=("${PUBLIC_ADDRESSES[@]:0:NAT_PUBLIC_ADDRESS_COUNT}")
  fi
}

discover_interfaces() {
  local deadline=$((SECONDS + NAT_INTERFACE_WAIT_SECONDS)) found='' waited=0
  while :; do
    FORWARDING_IF=''
    if [[ $NAT_MODE == dual ]] && found=$(interface_in_subnet "$NAT_FORWARDING_SUBNET_CIDR"); then
      read -r FORWARDING_IF FORWARDING_ADDRESS <<< "$found"
    fi
    PUBLIC_IF=$(default_route_interface "$FORWARDING_IF")
    if [[ -n $PUBLIC_IF && ($NAT_MODE == single || -n $FORWARDING_IF) ]]; then
      break
    fi
    if ((SECONDS >= deadline)); then
      [[ -n $PUBLIC_IF ]] || fail "no IPv4 default route after ${NAT_INTERFACE_WAIT_SECONDS}s: cannot find the public interface"
      fail "no interface with an address in NAT_FORWARDING_SUBNET_CIDR $NAT_FORWARDING_SUBNET_CIDR after ${NAT_INTERFACE_WAIT_SECONDS}s: the secondary interface was never attached"
    fi
    if ((waited == 0)); then
      log "waiting up to ${NAT_INTERFACE_WAIT_SECONDS}s for $([[ -z $PUBLIC_IF ]] && echo 'a default route' || echo "an interface in $NAT_FORWARDING_SUBNET_CIDR")"
      waited=1
    fi
    sleep 1
  done
  PUBLIC_ADDRESS=$(first_address_of "$PUBLIC_IF")
  [[ -n $PUBLIC_ADDRESS ]] || fail "public interface $PUBLIC_IF has no IPv4 address"
  discover_public_addresses "$deadline"
  if [[ $NAT_MODE == single ]]; then
    FORWARDING_IF=$PUBLIC_IF
    FORWARDING_ADDRESS=$PUBLIC_ADDRESS
  else
    [[ $FORWARDING_IF != "$PUBLIC_IF" ]] || fail "the forwarding interface $FORWARDING_IF also carries the default route"
    RETURN_GATEWAY=$(subnet_router "$NAT_FORWARDING_SUBNET_CIDR")
    local cidr
    RETURN_CIDRS=()
    for cidr in "${PRIVATE_CIDRS[@]}"; do
      cidr_contains "$NAT_FORWARDING_SUBNET_CIDR" "$cidr" || RETURN_CIDRS+=("$cidr")
    done
  fi
  log "public interface $PUBLIC_IF ($(join_by ', ' "${PUBLIC_ADDRESSES[@]}")), forwarding interface $FORWARDING_IF ($FORWARDING_ADDRESS), found after $((SECONDS - START_SECONDS))s"
}

# ---------------------------------------------------------------------------------------------
# Changes (only after everything above succeeded).

# Port-forward rules: a DNAT per entry on the public interface (only packets addressed to this
# host, only from the allowed sources) and, for `masquerade`, the source translation toward the target.
port_forward_rules() {
  local chain=$1 entry protocol public_port target_ip target_port translation sources
  for entry in "${PORT_FORWARDS[@]}"; do
    read -r protocol public_port target_ip target_port translation sources <<< "$entry"
    public_port=$((10#$public_port))
    target_port=$((10#$target_port))
    case $chain in
      prerouting)
        echo "    iifname \"$PUBLIC_IF\" fib daddr type local ip saddr { ${sources//,/, } } $protocol dport $public_port counter dnat to $target_ip:$target_port comment \"forward $protocol/$public_port\""
        ;;
      postrouting)
        [[ $translation == masquerade ]] &&
          echo "    oifname \"$FORWARDING_IF\" ct status dnat ip daddr $target_ip meta l4proto $protocol ct original proto-dst $public_port counter masquerade comment \"forward $protocol/$public_port: target sees the NAT\""
        ;;
    esac
  done
  return 0
}

# How traffic from the private subnets leaving by the public interface is translated. One address:
# masquerade (the interface's primary address). Several: source NAT to one of them, chosen by a
# hash of the flow — TCP and UDP by source and destination address and port, other protocols by
# the address pair. A new connection to a busy destination lands on any address (each gives its
# own 64,512 ports per destination), and a flow keeps its address: the choice is made once per
# connection-tracking entry, and the same flow hashes to the same address again should its entry
# be lost (a reboot, an expired idle flow). A round robin (`numgen`) would spread as evenly but
# move such a flow to another address, which the remote end sees as a different client.
egress_translation_rules() {
  local match="oifname \"$PUBLIC_IF\" ip saddr @private_cidrs fib saddr type != local counter"
  if ((${#PUBLIC_ADDRESSES[@]} <= 1)); then
    echo "    $match masquerade comment \"private to internet\""
    return 0
  fi
  local count=${#PUBLIC_ADDRESSES[@]} i pool=''
  for ((i = 0; i < count; i++)); do
    pool+="${pool:+, }$i : ${PUBLIC_ADDRESSES[i]}"
  done
  echo "    meta l4proto { tcp, udp } $match snat ip to jhash ip saddr . th sport . ip daddr . th dport mod $count seed $SNAT_HASH_SEED map { $pool } comment \"private to internet: address pool\""
  echo "    $match snat ip to jhash ip saddr . ip daddr mod $count seed $SNAT_HASH_SEED map { $pool } comment \"private to internet: address pool\""
}

render_ruleset() {
  local private_set
  private_set=$(join_by ', ' "${PRIVATE_CIDRS[@]}")
  cat << NFT
# Replaces the whole table in one transaction: a re-run converges, a failure changes nothing.
table ip $NFT_TABLE
delete table ip $NFT_TABLE
table ip $NFT_TABLE {
  set private_cidrs {
    type ipv4_addr
    flags interval
    auto-merge
    elements = { $private_set }
  }

  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
$(port_forward_rules prerouting)
  }

  chain forward {
    type filter hook forward priority filter; policy accept;
    tcp flags & (syn | rst) == syn tcp option maxseg size > $INTERNET_MSS counter tcp option maxseg size set $INTERNET_MSS comment "MSS clamp: internet MTU 1500"
    ct state established,related counter accept
    ct status dnat counter accept comment "configured port forwards"
    iifname "$FORWARDING_IF" oifname "$PUBLIC_IF" ip saddr @private_cidrs counter accept comment "private to internet"
    iifname "$PUBLIC_IF" ip saddr != @private_cidrs ip daddr @private_cidrs ct state new counter drop comment "no unsolicited inbound to private hosts"
  }

  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
$(egress_translation_rules)
$(port_forward_rules postrouting)
  }
}
NFT
}

apply_ruleset() {
  local ruleset errors
  ruleset=$(render_ruleset)
  if ((${#PORT_FORWARDS[@]} > 0)) && ! errors=$(nft -c -f - <<< "$ruleset" 2>&1); then
    # Forwards that passed the checks above and still break the ruleset must not cost egress.
    refuse "nftables rejected the ruleset with the port forwards ($(first_error "$errors")): all ${#PORT_FORWARDS[@]} port forward(s) left out; egress is not affected"
    PORT_FORWARDS=()
    ruleset=$(render_ruleset)
  fi
  errors=$(nft -c -f - <<< "$ruleset" 2>&1) || fail "nftables rejected the ruleset: $(first_error "$errors")"
  errors=$(nft -f - <<< "$ruleset" 2>&1) || fail "loading the nftables ruleset failed: ${errors//$'\n'/ }"
  local translation="masquerade"
  ((${#PUBLIC_ADDRESSES[@]} <= 1)) || translation="source NAT over ${#PUBLIC_ADDRESSES[@]} addresses (flow hash) of"
  log "nftables table ip $NFT_TABLE loaded: $translation ${#PRIVATE_CIDRS[@]} private CIDR(s) via $PUBLIC_IF, ${#PORT_FORWARDS[@]} port forward(s), MSS clamp $INTERNET_MSS"
}

first_error() {
  grep -m1 -i error <<< "$1" || echo 'unknown error'
}

# Writes a kernel setting given as a /proc/sys path relative key (slashes keep interface names with dots intact).
set_sysctl() {
  local key=$1 value=$2 required=${3:-optional}
  if { printf '%s\n' "$value" > "/proc/sys/$key"; } 2> /dev/null; then
    SYSCTL_LINES+=("$key = $value")
    return 0
  fi
  [[ $required == required ]] && fail "cannot set kernel setting $key=$value"
  warn "kernel setting $key is read-only here (network namespace?); left at $(cat "/proc/sys/$key" 2> /dev/null || echo unknown)"
  SYSCTL_LINES+=("$key = $value")
}

apply_kernel_settings() {
  SYSCTL_LINES=()
  local ifname interfaces
  interfaces=$(printf '%s\n' "$PUBLIC_IF" "$FORWARDING_IF" | sort -u | tr '\n' ' ')
  set_sysctl net/ipv4/ip_forward 1 required
  # Redirects go out if either `all` or the interface has them on: zero both.
  set_sysctl net/ipv4/conf/all/send_redirects 0
  set_sysctl net/ipv4/conf/default/send_redirects 0
  for ifname in $interfaces; do
    set_sysctl "net/ipv4/conf/$ifname/send_redirects" 0
    # The effective value is max(all, interface): loose (2) per interface admits forwarded flows
    # whose return path is another interface.
    set_sysctl "net/ipv4/conf/$ifname/rp_filter" 2
  done
  [[ -e /proc/sys/net/netfilter/nf_conntrack_max ]] || modprobe -q nf_conntrack 2> /dev/null || true
  set_sysctl net/netfilter/nf_conntrack_max "$NAT_CONNTRACK_MAX"
  log "kernel: ip_forward=1, send_redirects=0, rp_filter=2 on ${interfaces% }, nf_conntrack_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2> /dev/null || echo unknown)"
}

apply_return_routes() {
  local cidr
  for cidr in "${RETURN_CIDRS[@]}"; do
    ip route replace "$cidr" via "$RETURN_GATEWAY" dev "$FORWARDING_IF" || fail "cannot add the return route $cidr via $RETURN_GATEWAY dev $FORWARDING_IF"
  done
  ((${#RETURN_CIDRS[@]} == 0)) || log "return routes: ${RETURN_CIDRS[*]} via $RETURN_GATEWAY dev $FORWARDING_IF"
}

# Docker sets the iptables FORWARD policy to DROP; an accept in our nftables table cannot
# override a drop in another table, so the NAT flows are accepted in DOCKER-USER too (once).
allow_in_docker_user() {
  local tool seen_backends='' backend cidr
  # Docker installed but not started yet (per-boot scripts may run first): create its chain ahead
  # of it. dockerd keeps an existing DOCKER-USER, appends its RETURN and jumps to it from FORWARD.
  if command -v dockerd > /dev/null && command -v iptables > /dev/null &&
    ! iptables -w 5 -n -L DOCKER-USER > /dev/null 2>&1; then
    iptables -w 5 -N DOCKER-USER || fail "Docker is installed but DOCKER-USER cannot be created with iptables"
    log "Docker is installed but has not started: created DOCKER-USER ahead of it"
  fi
  for tool in iptables iptables-legacy iptables-nft; do
    command -v "$tool" > /dev/null || continue
    "$tool" -w 5 -n -L DOCKER-USER > /dev/null 2>&1 || continue
    backend=$("$tool" -V 2> /dev/null || echo "$tool")
    [[ " $seen_backends " == *" $backend "* ]] && continue
    seen_backends+=" $backend"
    local -a rules=(
      "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
      "-m conntrack --ctstate DNAT -j ACCEPT"
    )
    for cidr in "${PRIVATE_CIDRS[@]}"; do
      rules+=("-i $FORWARDING_IF -o $PUBLIC_IF -s $cidr -j ACCEPT")
    done
    local rule
    for rule in "${rules[@]}"; do
      # shellcheck disable=SC2086 # each rule is a word list on purpose
      "$tool" -w 5 -C DOCKER-USER $rule 2> /dev/null || "$tool" -w 5 -I DOCKER-USER $rule ||
        fail "cannot add '$rule' to DOCKER-USER with $tool"
    done
    DOCKER_USER_CHAINS=$((DOCKER_USER_CHAINS + 1))
    log "DOCKER-USER ($backend): accepts NAT flows"
  done
  return 0
}

# Writes a file only when its content changes, atomically.
write_if_changed() {
  local path=$1 content=$2
  [[ -f $path && $(< "$path") == "$content" ]] && return 0
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$content" > "$path.tmp" && mv -f "$path.tmp" "$path"
}

persist() {
  write_if_changed "$SYSCTL_FILE" "$(printf '# Written by nat-instance.sh at every boot.\n'; printf '%s\n' "${SYSCTL_LINES[@]}")" ||
    warn "cannot write $SYSCTL_FILE"
  local persisted=$SYSCTL_FILE
  # systemd-networkd may drop routes it did not create when it reconfigures a link.
  if ((${#RETURN_CIDRS[@]} > 0)) && { [[ -d $NETWORKD_DIR ]] || command -v networkctl > /dev/null; }; then
    local cidr dropin="$NETWORKD_DIR/70-$FORWARDING_IF.network.d/nat-instance-routes.conf"
    local content='# Written by nat-instance.sh: return routes to private subnets that are not on-link.'
    for cidr in "${RETURN_CIDRS[@]}"; do
      content+=$'\n'"[Route]"$'\n'"Destination=$cidr"$'\n'"Gateway=$RETURN_GATEWAY"
    done
    write_if_changed "$dropin" "$content" || warn "cannot write the systemd-networkd drop-in $dropin"
    persisted+=", $dropin"
  fi
  log "persisted: $persisted"
}

# Reads back what the NAT depends on, as the kernel now has it, before the instance says it is
# ready (and before it claims routes): forwarding on, our masquerade loaded, and the way back to
# every private subnet leaving by the forwarding interface (the wrong-interface return of a hand-made dual-interface NAT).
self_check() {
  [[ $(< /proc/sys/net/ipv4/ip_forward) == 1 ]] || fail "self-check: IPv4 forwarding is off after it was set"
  local chain cidr probe device
  # Read first, then match: `grep -q` would close the pipe early and pipefail would count nft's SIGPIPE.
  chain=$(nft list chain ip "$NFT_TABLE" postrouting 2> /dev/null) || chain=''
  if ((${#PUBLIC_ADDRESSES[@]} <= 1)); then
    [[ $chain == *masquerade* ]] || fail "self-check: table ip $NFT_TABLE has no masquerade rule loaded"
  else
    local address
    for address in "${PUBLIC_ADDRESSES[@]}"; do
      [[ $chain == *snat*jhash*" : $address,"* || $chain == *snat*jhash*" : $address }"* ]] ||
        fail "self-check: table ip $NFT_TABLE has no source NAT to a pool holding $address"
    done
  fi
  for cidr in "${PRIVATE_CIDRS[@]}"; do
    # A block around the public subnet (a whole-VPC CIDR) is partly on-link by the public interface.
    [[ $NAT_MODE == dual ]] && cidr_contains "$cidr" "$PUBLIC_ADDRESS" && continue
    # The subnet's VPC router stands for every host of the subnet.
    probe=$(subnet_router "$cidr")
    device=$(ip -4 route get "$probe" 2> /dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }') || device=''
    [[ $device == "$FORWARDING_IF" ]] ||
      fail "self-check: replies to private subnet $cidr would leave by '${device:-no interface}', not the forwarding interface $FORWARDING_IF"
  done
  local translation=masquerade
  ((${#PUBLIC_ADDRESSES[@]} <= 1)) || translation="source NAT to ${#PUBLIC_ADDRESSES[@]} addresses"
  log "self-check passed: forwarding on, $translation loaded, ${#PRIVATE_CIDRS[@]} private subnet(s) reached by $FORWARDING_IF"
  # Egress is ready; what was refused stays visible to monitoring (summary, status file, exit 2).
  ((${#REFUSED[@]} == 0)) || log "self-check: DEGRADED: ${#REFUSED[@]} optional setting(s) refused (REFUSED lines above, $STATUS_FILE)"
}

# Points the private route tables at this instance (NAT_ROUTE_MODE=self-claim). Runs after the
# local NAT is ready, so traffic is only routed here once it can be forwarded; a failure fails the boot.
# Inputs: ROUTE_TABLE_IDS (validated rtb-… IDs), FORWARDING_IF, FORWARDING_ADDRESS.
claim_routes() {
  command -v curl > /dev/null || fail "self-claim needs curl to read instance metadata, and it is not installed"
  command -v aws > /dev/null || fail "self-claim needs the AWS CLI ('aws'), and it is not installed"
  imds_token
  local instance_id region mac eni table claimed=()
  instance_id=$(imds_get meta-data/instance-id '^i-[0-9a-f]+$')
  region=$(imds_get meta-data/placement/region '^[a-z]{2}(-[a-z]+)+-[0-9]+$')
  mac=$(ip -o link show dev "$FORWARDING_IF" | awk '{ for (i = 1; i < NF; i++) if ($i == "link/ether") { print tolower($(i + 1)); exit } }')
  [[ $mac =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]] || fail "cannot read the MAC address of the forwarding interface $FORWARDING_IF"
  eni=$(imds_get "meta-data/network/interfaces/macs/$mac/interface-id" '^eni-[0-9a-f]+$')
  log "claiming ${#ROUTE_TABLE_IDS[@]} route table(s) for instance $instance_id in $region: 0.0.0.0/0 -> $eni ($FORWARDING_IF, $mac)"
  for table in "${ROUTE_TABLE_IDS[@]}"; do
    claim_route_table "$region" "$table" "$eni"
    log "route table $table: 0.0.0.0/0 -> $eni ($CLAIM_HOW)"
    claimed+=("$table")
  done
  log "claimed route tables ${claimed[*]} for $eni"
}

# IMDSv2 (the instance requires tokens). NAT_IMDS_ENDPOINT exists for the lab's metadata double.
readonly IMDS_ENDPOINT=${NAT_IMDS_ENDPOINT:-http://169.254.169.254}
readonly IMDS_ATTEMPTS=5
IMDS_TOKEN=''

imds_token() {
  local attempt
  for ((attempt = 1; attempt <= IMDS_ATTEMPTS; attempt++)); do
    if IMDS_TOKEN=$(curl -sS -f --connect-timeout 2 --max-time 5 -X PUT \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$IMDS_ENDPOINT/latest/api/token" 2> /dev/null) && [[ -n $IMDS_TOKEN ]]; then
      return 0
    fi
    ((attempt == IMDS_ATTEMPTS)) || sleep "$attempt"
  done
  fail "no IMDSv2 token from $IMDS_ENDPOINT after $IMDS_ATTEMPTS attempts"
}

# imds_get PATH PATTERN: a metadata value that must match PATTERN (bounded retries, short timeouts).
imds_get() {
  local path=$1 pattern=$2 value='' attempt
  for ((attempt = 1; attempt <= IMDS_ATTEMPTS; attempt++)); do
    if value=$(curl -sS -f --connect-timeout 2 --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" \
      "$IMDS_ENDPOINT/latest/$path" 2> /dev/null) && [[ $value =~ $pattern ]]; then
      echo "$value"
      return 0
    fi
    ((attempt == IMDS_ATTEMPTS)) || sleep "$attempt"
  done
  fail "instance metadata $path: no valid value after $IMDS_ATTEMPTS attempts (last: '${value:0:60}')"
}

# The EC2 API through the AWS CLI: no pager (AWS_PAGER works for v1 and v2), bounded timeouts,
# and one attempt per call, so the retries below are the only ones and their bound holds;
# AWS_ENDPOINT_URL_EC2 is honoured even by CLI versions that predate service-specific endpoint
# variables (the lab's EC2 double).
ec2_cli() {
  local endpoint=()
  [[ -z ${AWS_ENDPOINT_URL_EC2:-} ]] || endpoint=(--endpoint-url "$AWS_ENDPOINT_URL_EC2")
  AWS_PAGER='' AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1 \
    aws ec2 "$@" "${endpoint[@]}" --output text --cli-connect-timeout 5 --cli-read-timeout 15
}

# Route claims retry what clears up by itself: UnauthorizedOperation (the route-claim policy is
# attached before the instance is created, but IAM changes take seconds to minutes to reach EC2),
# throttling and EC2's server errors. Waits double from NAT_ROUTE_CLAIM_BACKOFF_MS (milliseconds,
# default 2000; an environment knob the lab shrinks) up to 32 times that, for at most
# ROUTE_CLAIM_ATTEMPTS attempts per route table: 2+4+8+16+32+64+64 = 190 s of waiting by default.
readonly ROUTE_CLAIM_ATTEMPTS=8
readonly ROUTE_CLAIM_MAX_BACKOFF_FACTOR=32
ROUTE_CLAIM_BACKOFF_MS=${NAT_ROUTE_CLAIM_BACKOFF_MS:-2000}
CLAIM_HOW=''

# aws_error_code TEXT: the code in the CLI's "An error occurred (Code) when calling ..." (or nothing).
aws_error_code() {
  local pattern='An error occurred \(([A-Za-z0-9.]+)\)'
  if [[ $1 =~ $pattern ]]; then echo "${BASH_REMATCH[1]}"; fi
}

# is_transient_error CODE: worth retrying (see above); a 5xx without a parsable body shows as its status.
is_transient_error() {
  case $1 in
    UnauthorizedOperation | RequestLimitExceeded | Throttling | InternalError | InternalFailure | ServiceUnavailable | Unavailable | 5[0-9][0-9]) return 0 ;;
    *) return 1 ;;
  esac
}

# Milliseconds as seconds with three decimals, as sleep(1) takes them: 2000 -> 2.000.
ms_as_seconds() {
  printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# claim_route_table REGION TABLE ENI: points the table's 0.0.0.0/0 at ENI — replace-route, or
# create-route when there is no default route to replace — and says how in CLAIM_HOW. Transient
# refusals are retried (see above); when they outlast the attempts, or both calls fail otherwise,
# the boot fails with one line.
claim_route_table() {
  local region=$1 table=$2 eni=$3 action=replace-route error code replace_error='' attempt=1 wait_ms waited_ms=0
  local route=(--region "$region" --route-table-id "$table" --destination-cidr-block 0.0.0.0/0 --network-interface-id "$eni")
  for (( ; ; )); do
    if error=$(ec2_cli "$action" "${route[@]}" 2>&1 > /dev/null); then
      CLAIM_HOW=replaced
      [[ $action == replace-route ]] || CLAIM_HOW="created: there was no default route to replace"
      return 0
    fi
    code=$(aws_error_code "$error")
    if ! is_transient_error "$code"; then
      if [[ $action == replace-route ]]; then
        replace_error=$error
        action=create-route
        continue
      fi
      fail "cannot point route table $table at $eni: replace-route: $(one_line "$replace_error"); create-route: $(one_line "$error")"
    fi
    ((attempt < ROUTE_CLAIM_ATTEMPTS)) ||
      fail "cannot point route table $table at $eni: $action still refused after $attempt attempts and $(ms_as_seconds "$waited_ms")s of waiting (IAM changes can take minutes to reach EC2): $(one_line "$error")"
    wait_ms=$((ROUTE_CLAIM_BACKOFF_MS << (attempt - 1)))
    ((wait_ms <= ROUTE_CLAIM_BACKOFF_MS * ROUTE_CLAIM_MAX_BACKOFF_FACTOR)) || wait_ms=$((ROUTE_CLAIM_BACKOFF_MS * ROUTE_CLAIM_MAX_BACKOFF_FACTOR))
    log "route table $table: $action refused (${code}), attempt $attempt of $ROUTE_CLAIM_ATTEMPTS; retrying in $(ms_as_seconds "$wait_ms")s"
    sleep "$(ms_as_seconds "$wait_ms")"
    waited_ms=$((waited_ms + wait_ms))
    attempt=$((attempt + 1))
  done
}

# Squeezes a multi-line CLI error into one trimmed line.
one_line() {
  local text=$1
  text=${text//$'\n'/ }
  text=${text#"${text%%[![:space:]]*}"}
  echo "${text:0:300}"
}

# ---------------------------------------------------------------------------------------------
# Self-healing (an Auto Scaling group of one): a replacement takes over what the instance before it
# held, through the EC2 API — the static forwarding interface (dual mode) and the Elastic IP. It
# reaches the API through the public address EC2 auto-assigns at launch, which is why it launches
# with one interface only (EC2 auto-assigns no public address to a launch with several) and attaches
# the forwarding interface itself: docs/high-availability.md.

readonly EC2_ATTEMPTS=6
INSTANCE_ID=''
REGION=''

# The instance's ID and region, from IMDSv2 (once).
read_instance_identity() {
  [[ -z $INSTANCE_ID ]] || return 0
  command -v curl > /dev/null || fail "self-healing needs curl to read instance metadata, and it is not installed"
  command -v aws > /dev/null || fail "self-healing needs the AWS CLI ('aws'), and it is not installed"
  imds_token
  INSTANCE_ID=$(imds_get meta-data/instance-id '^i-[0-9a-f]+$')
  REGION=$(imds_get meta-data/placement/region '^[a-z]{2}(-[a-z]+)+-[0-9]+$')
}

# ec2_with_backoff WHAT ARGS...: an EC2 call; what clears up by itself (is_transient_error: IAM
# still propagating, throttling, server errors) is retried with the route claims' doubling backoff,
# EC2_ATTEMPTS times at most. Prints its output, or fails the boot naming WHAT and the last error.
ec2_with_backoff() {
  local what=$1 output='' attempt wait_ms
  shift
  for ((attempt = 1; attempt <= EC2_ATTEMPTS; attempt++)); do
    if output=$(ec2_cli "$@" 2>&1); then
      printf '%s\n' "$output"
      return 0
    fi
    is_transient_error "$(aws_error_code "$output")" || break
    ((attempt == EC2_ATTEMPTS)) && break
    wait_ms=$((ROUTE_CLAIM_BACKOFF_MS << (attempt - 1)))
    sleep "$(ms_as_seconds "$wait_ms")"
  done
  fail "$what (attempt $attempt of $EC2_ATTEMPTS): $(one_line "$output")"
}

# The MAC address of an interface, lower case.
mac_of() {
  local mac
  mac=$(ip -o link show dev "$1" | awk '{ for (i = 1; i < NF; i++) if ($i == "link/ether") { print tolower($(i + 1)); exit } }')
  [[ $mac =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]] || fail "cannot read the MAC address of $1"
  echo "$mac"
}

# Dual mode: attaches the static forwarding interface as device 1, unless it is attached here
# already (a reboot). While the instance this one replaces still holds it (EC2 takes a few seconds
# to detach it from a terminated instance), waits for it up to NAT_INTERFACE_WAIT_SECONDS.
attach_forwarding_interface() {
  read_instance_identity
  local eni=$NAT_FORWARDING_INTERFACE_ID deadline=$((SECONDS + NAT_INTERFACE_WAIT_SECONDS)) described status holder error='' waited=0
  while :; do
    described=$(ec2_with_backoff "cannot describe the forwarding interface $eni" describe-network-interfaces \
      --region "$REGION" --network-interface-ids "$eni" --query 'NetworkInterfaces[0].[Status,Attachment.InstanceId]')
    read -r status holder <<< "$described"
    [[ $holder != None ]] || holder=''
    if [[ $holder == "$INSTANCE_ID" ]]; then
      log "forwarding interface $eni is attached to this instance already"
      return 0
    fi
    if [[ $status == available ]] && error=$(ec2_cli attach-network-interface --region "$REGION" --network-interface-id "$eni" \
      --instance-id "$INSTANCE_ID" --device-index 1 2>&1 > /dev/null); then
      log "attached the forwarding interface $eni to $INSTANCE_ID as device 1"
      return 0
    fi
    ((SECONDS < deadline)) || fail "cannot attach the forwarding interface $eni within ${NAT_INTERFACE_WAIT_SECONDS}s: it is $status${holder:+, attached to $holder}${error:+; last error: $(one_line "$error")}"
    ((waited)) || log "waiting up to ${NAT_INTERFACE_WAIT_SECONDS}s for the forwarding interface $eni ($status${holder:+, attached to $holder})"
    waited=1
    sleep 2
  done
}

# Associates the Elastic IP with the public interface (by network-interface ID: association by
# instance ID fails on instances with several interfaces), taking it from the instance before.
associate_elastic_ip() {
  read_instance_identity
  local mac eni association
  mac=$(mac_of "$PUBLIC_IF")
  eni=$(imds_get "meta-data/network/interfaces/macs/$mac/interface-id" '^eni-[0-9a-f]+$')
  association=$(ec2_with_backoff "cannot associate the Elastic IP $NAT_ELASTIC_IP_ALLOCATION_ID with $eni" associate-address \
    --region "$REGION" --allocation-id "$NAT_ELASTIC_IP_ALLOCATION_ID" --network-interface-id "$eni" \
    --private-ip-address "$PUBLIC_ADDRESS" --allow-reassociation --query AssociationId)
  log "Elastic IP $NAT_ELASTIC_IP_ALLOCATION_ID associated with $eni ($PUBLIC_IF, $PUBLIC_ADDRESS): $association"
}

# Turns off the source/destination check of the forwarding interface (a launch template cannot set
# it; without it EC2 drops every packet this host forwards).
disable_source_dest_check() {
  read_instance_identity
  local mac eni
  mac=$(mac_of "$FORWARDING_IF")
  eni=$(imds_get "meta-data/network/interfaces/macs/$mac/interface-id" '^eni-[0-9a-f]+$')
  ec2_with_backoff "cannot turn off the source/destination check of $eni" modify-network-interface-attribute \
    --region "$REGION" --network-interface-id "$eni" --no-source-dest-check > /dev/null
  log "source/destination check off on $eni ($FORWARDING_IF)"
}

main() {
  log "starting (settings $SETTINGS_FILE)"
  write_status starting "nat-instance.sh started"
  read_settings
  validate_settings
  ensure_tools
  [[ -z $NAT_FORWARDING_INTERFACE_ID ]] || attach_forwarding_interface
  discover_interfaces
  apply_ruleset
  apply_kernel_settings
  apply_return_routes
  allow_in_docker_user
  persist
  self_check
  [[ $NAT_DISABLE_SOURCE_DEST_CHECK == false ]] || disable_source_dest_check
  [[ -z $NAT_ELASTIC_IP_ALLOCATION_ID ]] || associate_elastic_ip
  if [[ $NAT_ROUTE_MODE == self-claim ]]; then
    claim_routes
  fi
  local state=ready code=0 note=''
  if ((${#REFUSED[@]} > 0)); then
    state=degraded code=2 note=" (egress ready; ${#REFUSED[@]} optional setting(s) REFUSED)"
  fi
  local addresses summary
  addresses=$(join_by ', ' "${PUBLIC_ADDRESSES[@]}")
  summary="$state in $((SECONDS - START_SECONDS))s$note: mode $NAT_MODE, public $PUBLIC_IF ($addresses), forwarding $FORWARDING_IF ($FORWARDING_ADDRESS), ${#PRIVATE_CIDRS[@]} private CIDR(s), ${#RETURN_CIDRS[@]} return route(s), ${#PORT_FORWARDS[@]} port forward(s), DOCKER-USER chains $DOCKER_USER_CHAINS, routes by $NAT_ROUTE_MODE, $WARNINGS warning(s)"
  log "$summary"
  write_status "$state" "$summary"
  exit "$code"
}

# Run when executed (cloud-init), not when sourced: the unit tests source the pure checks above.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
