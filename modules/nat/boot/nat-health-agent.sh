#!/bin/bash
# cdktf-nat-instance health agent: cross-zone failover between the NATs of one group.
#
# Runs on every NAT of a group (a systemd service the user data installs; see
# health-agent.README.md). Every NAT_HEALTH_INTERVAL_SECONDS it:
#   1. checks its own data path: forwarding on, the NAT's nftables table loaded with its masquerade,
#      an outbound probe through its public interface;
#   2. publishes a heartbeat (an SSM parameter per member: "<healthy|unhealthy> <instance> <eni> <time>");
#   3. reads its peers' heartbeats, the route tables of the group and, for a peer whose heartbeat
#      stopped advancing, its instance state;
#   4. claims the route tables it owns by the owner rule and that do not point at it yet;
#   5. once a minute, when NAT_METRICS_NAMESPACE is set, publishes its metrics to CloudWatch
#      (EgressProbe, ConntrackUsePercent, OwnedRouteTables; the same names as the metrics publisher).
# Owner rule (the same on every NAT, so no two fight over a table): a table belongs to its home NAT
# (the NAT of its zone) while that NAT is alive; otherwise to the first alive member after the home
# one in the group's member order. Hysteresis: a NAT turns unhealthy after NAT_HEALTH_FAILURES failed
# checks in a row and healthy after NAT_HEALTH_RECOVERIES passes; a peer is dead when it says it is
# unhealthy, its instance is not running, or its heartbeat did not advance for NAT_PEER_DEAD_SECONDS;
# a NAT takes its home tables back only NAT_FAILBACK_HOLD_SECONDS after it published "healthy";
# a table is written at most once per NAT_TABLE_WRITE_HOLD_SECONDS. It never takes a table from
# an active route to a NAT it does not know to be dead. One log line per decision.
set -euo pipefail

readonly SETTINGS_FILE=${NAT_HEALTH_SETTINGS_FILE:-/etc/nat-instance/health-agent}
readonly BOOT_SETTINGS_FILE=${NAT_BOOT_SETTINGS_FILE:-/etc/nat-instance/settings}
readonly LOG_FILE=${NAT_HEALTH_LOG_FILE:-/var/log/nat-health-agent.log}
# What the agent knows, for other tools (the metrics publisher): KEY=value lines, rewritten every round.
readonly STATE_FILE=${NAT_HEALTH_STATE_FILE:-/run/nat-instance/health-agent.state}
readonly IMDS_ENDPOINT=${NAT_IMDS_ENDPOINT:-http://169.254.169.254}
readonly NFT_TABLE=nat_instance
readonly API_ATTEMPTS=3
# A heartbeat is stale only when this many of our reads in a row found it unchanged (and
# NAT_PEER_DEAD_SECONDS passed): a slow round of ours, or of the peer's, is not a death.
readonly STALE_READS=3
# With every peer alive and no table to claim, the route tables are read every this many rounds only.
readonly ROUTE_READ_EVERY=5
readonly METRICS_EVERY_SECONDS=60
ROUND_COUNT=0
PENDING_CLAIM=0
NAT_GROUP_NAME=''
NAT_GROUP_SELF=''
NAT_GROUP_MEMBERS=''
NAT_HEALTH_PROBE_URL=''
NAT_HEALTH_INTERVAL_SECONDS=2
NAT_HEALTH_FAILURES=2
NAT_HEALTH_RECOVERIES=2
NAT_PEER_DEAD_SECONDS=6
NAT_FAILBACK_HOLD_SECONDS=4
NAT_TABLE_WRITE_HOLD_SECONDS=6
# Optional: CloudWatch namespace and NatName dimension; empty = no metrics.
NAT_METRICS_NAMESPACE=''
NAT_METRICS_NAME=''
# From the boot script's settings: how to find the forwarding interface.
NAT_MODE=''
NAT_FORWARDING_SUBNET_CIDR=''

MEMBERS=()           # member names, in takeover order
declare -A HOME=()   # route table -> its home member
TABLES=()            # every route table of the group
OWNED=()             # the route tables pointing at this NAT, as last read
INSTANCE_ID=''
REGION=''
OWN_ENI=''
PUBLIC_IF=''
FORWARDING_IF=''
WORK=''

# Own state (hysteresis); empty until the first check.
SELF_STATE=''
SELF_STREAK=0
SELF_REASON=''
CHECK_PASSED=0 # the last own check, before hysteresis: forwarding, ruleset and probe all fine
LAST_PUBLISH=0
FIRST_READ=''
HEALTHY_SINCE=0

# Peer view: name -> value. PEER_VERSION/PEER_SEEN: last heartbeat version and when (our clock) it
# advanced. A heartbeat "starting" (as Terraform creates it) is judged by its age alone.
# PEER_STILL: how many of our reads in a row found the same version (a slow round is not a dead peer).
declare -A PEER_VERSION=() PEER_SEEN=() PEER_STILL=() PEER_STATE=() PEER_INSTANCE=() PEER_ENI=() PEER_ALIVE=() PEER_WHY=()
# Route view: table -> target ENI ("" when none) and state (active/blackhole/none).
declare -A ROUTE_TARGET=() ROUTE_STATE=() LAST_WRITE=()
API_OK=1

log() {
  local line="nat-health-agent: $*"
  echo "$line"
  { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$line" >> "$LOG_FILE"; } 2> /dev/null || true
}

fail() {
  log "FAILED: $*"
  exit 1
}

now() { date +%s; }

# ---------------------------------------------------------------------------------------------
# Settings: KEY=value lines, parsed (never sourced), unknown keys refused.

read_settings_file() {
  local file=$1 allowed=$2 line key value number=0
  [[ -r $file ]] || fail "settings file $file is missing or unreadable"
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line == *=* ]] || fail "$file line $number is not KEY=value"
    key=${line%%=*}
    value=${line#*=}
    if [[ " $allowed " == *" $key "* ]]; then
      printf -v "$key" '%s' "$value"
    elif [[ $file == "$SETTINGS_FILE" ]]; then
      fail "unknown setting '$key' in $file (line $number)"
    fi
  done < "$file"
}

require_integer() {
  if ! [[ $2 =~ ^[0-9]{1,5}$ ]] || ((10#$2 < $3 || 10#$2 > $4)); then
    fail "setting $1 must be an integer from $3 to $4, got '$2'"
  fi
}

read_settings() {
  read_settings_file "$SETTINGS_FILE" "NAT_GROUP_NAME NAT_GROUP_SELF NAT_GROUP_MEMBERS NAT_HEALTH_PROBE_URL NAT_HEALTH_INTERVAL_SECONDS \
NAT_HEALTH_FAILURES NAT_HEALTH_RECOVERIES NAT_PEER_DEAD_SECONDS NAT_FAILBACK_HOLD_SECONDS NAT_TABLE_WRITE_HOLD_SECONDS \
NAT_METRICS_NAMESPACE NAT_METRICS_NAME"
  read_settings_file "$BOOT_SETTINGS_FILE" "NAT_MODE NAT_FORWARDING_SUBNET_CIDR"
  [[ $NAT_GROUP_NAME =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || fail "setting NAT_GROUP_NAME must be 1-64 letters, digits, '.', '_' or '-', got '$NAT_GROUP_NAME'"
  [[ $NAT_HEALTH_PROBE_URL =~ ^https?://[^[:space:]]+$ ]] || fail "setting NAT_HEALTH_PROBE_URL must be an http(s) URL, got '$NAT_HEALTH_PROBE_URL'"
  require_integer NAT_HEALTH_INTERVAL_SECONDS "$NAT_HEALTH_INTERVAL_SECONDS" 1 300
  require_integer NAT_HEALTH_FAILURES "$NAT_HEALTH_FAILURES" 1 100
  require_integer NAT_HEALTH_RECOVERIES "$NAT_HEALTH_RECOVERIES" 1 100
  require_integer NAT_PEER_DEAD_SECONDS "$NAT_PEER_DEAD_SECONDS" 1 3600
  require_integer NAT_FAILBACK_HOLD_SECONDS "$NAT_FAILBACK_HOLD_SECONDS" 0 3600
  require_integer NAT_TABLE_WRITE_HOLD_SECONDS "$NAT_TABLE_WRITE_HOLD_SECONDS" 0 3600
  if [[ -n $NAT_METRICS_NAMESPACE || -n $NAT_METRICS_NAME ]]; then
    [[ $NAT_METRICS_NAMESPACE =~ ^[A-Za-z0-9._/#:-]{1,255}$ && $NAT_METRICS_NAMESPACE != AWS/* ]] ||
      fail "setting NAT_METRICS_NAMESPACE must be a CloudWatch namespace outside AWS/, got '$NAT_METRICS_NAMESPACE'"
    [[ $NAT_METRICS_NAME =~ ^[A-Za-z0-9_+=,.@-]{1,255}$ ]] || fail "setting NAT_METRICS_NAME must be 1 to 255 of A-Za-z0-9_+=,.@-, got '$NAT_METRICS_NAME'"
  fi
  [[ $NAT_MODE == single || $NAT_MODE == dual ]] || fail "boot setting NAT_MODE must be single or dual, got '$NAT_MODE'"
  # NAT_GROUP_MEMBERS: name=rtb-1+rtb-2,name=rtb-3 (the order is the takeover order).
  local entry name tables table
  local -a entries route_tables
  IFS=, read -r -a entries <<< "$NAT_GROUP_MEMBERS"
  ((${#entries[@]} >= 2)) || fail "setting NAT_GROUP_MEMBERS must list at least two members (name=rtb-…+rtb-…), got '$NAT_GROUP_MEMBERS'"
  for entry in "${entries[@]}"; do
    name=${entry%%=*}
    tables=${entry#*=}
    [[ $entry == *=* && $name =~ ^[A-Za-z0-9_.-]{1,64}$ && -n $tables ]] || fail "setting NAT_GROUP_MEMBERS: '$entry' is not name=rtb-…+rtb-…"
    [[ " ${MEMBERS[*]} " != *" $name "* ]] || fail "setting NAT_GROUP_MEMBERS lists $name twice"
    MEMBERS+=("$name")
    IFS=+ read -r -a route_tables <<< "$tables"
    for table in "${route_tables[@]}"; do
      [[ $table =~ ^rtb-[0-9a-f]+$ ]] || fail "setting NAT_GROUP_MEMBERS: '$table' is not a route-table ID"
      [[ -z ${HOME[$table]:-} ]] || fail "setting NAT_GROUP_MEMBERS: $table has two home members"
      HOME[$table]=$name
      TABLES+=("$table")
    done
  done
  [[ " ${MEMBERS[*]} " == *" $NAT_GROUP_SELF "* ]] || fail "setting NAT_GROUP_SELF '$NAT_GROUP_SELF' is not one of NAT_GROUP_MEMBERS"
}

# ---------------------------------------------------------------------------------------------
# Identity: instance metadata (IMDSv2) and the interfaces (the same rules as the boot script).

imds() {
  local token
  token=$(curl -sS -f --connect-timeout 2 --max-time 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$IMDS_ENDPOINT/latest/api/token") &&
    curl -sS -f --connect-timeout 2 --max-time 3 -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/$1"
}

# The interface of the IPv4 default route with the lowest metric (the primary on Amazon Linux 2023).
public_interface() {
  ip -4 route show default | awk '
    { dev = ""; metric = 0
      for (i = 1; i < NF; i++) { if ($i == "dev") dev = $(i + 1); if ($i == "metric") metric = $(i + 1) }
      if (dev != "" && (best == "" || metric < best_metric)) { best = dev; best_metric = metric } }
    END { if (best != "") print best }'
}

# Dual mode: the interface holding an address in the forwarding subnet (prefix match through ip).
forwarding_interface() {
  [[ $NAT_MODE == single ]] && { echo "$PUBLIC_IF"; return 0; }
  ip -4 -o route show to "$NAT_FORWARDING_SUBNET_CIDR" scope link | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }'
}

discover_identity() {
  INSTANCE_ID=$(imds meta-data/instance-id) && [[ $INSTANCE_ID =~ ^i-[0-9a-f]+$ ]] || return 1
  REGION=$(imds meta-data/placement/region) && [[ -n $REGION ]] || return 1
  PUBLIC_IF=$(public_interface)
  FORWARDING_IF=$(forwarding_interface)
  [[ -n $PUBLIC_IF && -n $FORWARDING_IF ]] || return 1
  local mac
  mac=$(ip -o link show dev "$FORWARDING_IF" | awk '{ for (i = 1; i < NF; i++) if ($i == "link/ether") { print tolower($(i + 1)); exit } }')
  OWN_ENI=$(imds "meta-data/network/interfaces/macs/$mac/interface-id") && [[ $OWN_ENI =~ ^eni-[0-9a-f]+$ ]] || return 1
  log "identity: instance $INSTANCE_ID in $REGION, member $NAT_GROUP_SELF of group $NAT_GROUP_NAME, forwarding $FORWARDING_IF ($OWN_ENI), public $PUBLIC_IF"
}

# ---------------------------------------------------------------------------------------------
# API calls: bounded (connect 2 s, read 5 s, 20 s in all, at most API_ATTEMPTS tries), retried with exponential
# backoff and jitter on throttling and server errors only. AWS_ENDPOINT_URL_<SERVICE> is honoured
# even by CLI versions that predate service-specific endpoint variables (the lab's emulator).

# api SERVICE ARGS...: prints the output; returns non-zero with the last error in $WORK/api-error.
# API_CALL_ATTEMPTS (default API_ATTEMPTS) may lower the tries for one call.
api() {
  local service=$1 endpoint_var attempt output delay attempts=${API_CALL_ATTEMPTS:-$API_ATTEMPTS}
  shift
  endpoint_var="AWS_ENDPOINT_URL_${service^^}"
  local endpoint=()
  [[ -z ${!endpoint_var:-} ]] || endpoint=(--endpoint-url "${!endpoint_var}")
  for ((attempt = 1; attempt <= attempts; attempt++)); do
    if output=$(AWS_PAGER='' AWS_MAX_ATTEMPTS=1 timeout 20 aws "$service" "$@" --region "$REGION" "${endpoint[@]}" \
      --output text --cli-connect-timeout 2 --cli-read-timeout 5 2>&1); then
      printf '%s\n' "$output"
      return 0
    fi
    printf '%s\n' "$output" > "$WORK/api-error.$BASHPID"
    [[ $output =~ Throttl|RequestLimitExceeded|Rate\ exceeded|ServiceUnavailable|InternalError|InternalFailure|50[0-9]|timed\ out|Could\ not\ connect ]] || return 1
    ((attempt == attempts)) && return 1
    delay=$(((1 << (attempt - 1)) * 500 + RANDOM % 250))
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  done
  return 1
}

one_line() {
  local text=${1//$'\n'/ }
  echo "${text:0:200}"
}

# ---------------------------------------------------------------------------------------------
# One round.

check_self() {
  local why='' ruleset probe=ok
  wait "$PROBE_PID" || probe=failed
  if [[ $(cat /proc/sys/net/ipv4/ip_forward 2> /dev/null) != 1 ]]; then
    why='IPv4 forwarding is off'
  else
    ruleset=$(nft list chain ip "$NFT_TABLE" postrouting 2> /dev/null) || ruleset=''
    if [[ $ruleset != *masquerade* ]]; then
      why="the masquerade rule of table ip $NFT_TABLE is not loaded"
    elif [[ $probe == failed ]]; then
      why="the outbound probe through $PUBLIC_IF failed ($NAT_HEALTH_PROBE_URL)"
    fi
  fi
  CHECK_PASSED=$([[ -z $why ]] && echo 1 || echo 0)
  if [[ -z $SELF_STATE ]]; then
    # The first round: the boot script has just checked the same, so no hysteresis yet.
    SELF_STATE=$([[ -z $why ]] && echo healthy || echo unhealthy) SELF_REASON=$why HEALTHY_SINCE=$(now)
    log "decision: self $SELF_STATE at start${why:+ ($why)}"
  elif [[ -z $why ]]; then
    if [[ $SELF_STATE == healthy ]]; then SELF_STREAK=0; else SELF_STREAK=$((SELF_STREAK + 1)); fi
    if [[ $SELF_STATE == unhealthy ]] && ((SELF_STREAK >= NAT_HEALTH_RECOVERIES)); then
      SELF_STATE=healthy SELF_STREAK=0 SELF_REASON='' HEALTHY_SINCE=$(now)
      log "decision: self healthy ($NAT_HEALTH_RECOVERIES checks passed in a row)"
    fi
  else
    if [[ $SELF_STATE == unhealthy ]]; then SELF_STREAK=0; else SELF_STREAK=$((SELF_STREAK + 1)); fi
    if [[ $SELF_STATE == healthy ]] && ((SELF_STREAK >= NAT_HEALTH_FAILURES)); then
      SELF_STATE=unhealthy SELF_STREAK=0
      log "decision: self unhealthy ($why, $NAT_HEALTH_FAILURES checks in a row): peers take this NAT's tables"
    fi
    SELF_REASON=$why
  fi
}

heartbeat_parameter() { echo "/nat-instance/$NAT_GROUP_NAME/$1/heartbeat"; }

# Reads peers' heartbeats (a version that advances, and "<state> <instance> <eni> <time>").
read_heartbeats() {
  local names=() member name version value
  for member in "${MEMBERS[@]}"; do names+=("$(heartbeat_parameter "$member")"); done
  # Text output: one "PARAMETERS <name> <version> <value…>" line per parameter found.
  while read -r _ name version value; do
    member=${name#/nat-instance/"$NAT_GROUP_NAME"/}
    member=${member%/heartbeat}
    [[ $member != "$NAT_GROUP_SELF" ]] || continue
    if [[ $version != "${PEER_VERSION[$member]:-}" ]]; then
      PEER_VERSION[$member]=$version
      PEER_SEEN[$member]=$ROUND_TIME
      PEER_STILL[$member]=0
    else
      PEER_STILL[$member]=$((${PEER_STILL[$member]:-0} + 1))
    fi
    read -r "PEER_STATE[$member]" "PEER_INSTANCE[$member]" "PEER_ENI[$member]" _ <<< "$value"
  done < <(grep '^PARAMETERS' "$WORK/heartbeats")
}

read_routes() {
  local table target state
  for table in "${TABLES[@]}"; do ROUTE_TARGET[$table]='' ROUTE_STATE[$table]=none; done
  # One "<table> <0.0.0.0/0 target or None> <state or None>" line per table.
  while read -r table target state; do
    [[ -n ${HOME[$table]:-} ]] || continue
    [[ $target != None ]] || target=''
    ROUTE_TARGET[$table]=$target
    ROUTE_STATE[$table]=${state,,}
  done < "$WORK/routes"
}

# A peer whose heartbeat stopped advancing: is its instance still running?
peer_instance_state() {
  local instance=$1
  [[ $instance =~ ^i-[0-9a-f]+$ ]] || { echo unknown; return 0; }
  api ec2 describe-instances --instance-ids "$instance" --query 'Reservations[0].Instances[0].State.Name' 2> /dev/null || echo unknown
}

judge_peers() {
  local member why alive state
  for member in "${MEMBERS[@]}"; do
    [[ $member != "$NAT_GROUP_SELF" ]] || continue
    why=''
    if [[ -z ${PEER_SEEN[$member]:-} ]]; then
      # Never seen: dead only once this agent has read heartbeats for NAT_PEER_DEAD_SECONDS.
      ((ROUND_TIME - FIRST_READ >= NAT_PEER_DEAD_SECONDS)) && why="no heartbeat for ${NAT_PEER_DEAD_SECONDS}s"
    elif [[ ${PEER_STATE[$member]} == unhealthy ]]; then
      why="its heartbeat says unhealthy"
    elif ((ROUND_TIME - PEER_SEEN[$member] >= NAT_PEER_DEAD_SECONDS && PEER_STILL[$member] >= STALE_READS)); then
      why="heartbeat stopped $((ROUND_TIME - PEER_SEEN[$member]))s ago"
    elif ((ROUND_TIME - PEER_SEEN[$member] >= NAT_HEALTH_INTERVAL_SECONDS * 2 && PEER_STILL[$member] >= 2)); then
      state=$(peer_instance_state "${PEER_INSTANCE[$member]}")
      [[ $state == running || $state == unknown ]] || why="instance ${PEER_INSTANCE[$member]} is $state"
    fi
    if [[ -n $why ]]; then alive=no; else alive=yes; fi
    if [[ $alive != "${PEER_ALIVE[$member]:-yes}" ]]; then
      if [[ $alive == no ]]; then log "decision: peer $member dead ($why)"; else log "decision: peer $member alive again"; fi
    fi
    PEER_ALIVE[$member]=$alive
    PEER_WHY[$member]=$why
  done
}

alive() {
  if [[ $1 == "$NAT_GROUP_SELF" ]]; then [[ $SELF_STATE == healthy ]]; else [[ ${PEER_ALIVE[$1]:-yes} == yes ]]; fi
}

# The owner rule: the home member while alive, else the first alive member after it (cyclic).
owner_of() {
  local home=${HOME[$1]} i n=${#MEMBERS[@]} start
  alive "$home" && { echo "$home"; return 0; }
  for ((start = 0; start < n; start++)); do [[ ${MEMBERS[$start]} == "$home" ]] && break; done
  for ((i = 1; i < n; i++)); do
    if alive "${MEMBERS[$(((start + i) % n))]}"; then
      echo "${MEMBERS[$(((start + i) % n))]}"
      return 0
    fi
  done
  echo ''
}

claim_table() {
  local table=$1 why=$2 route=(--route-table-id "$1" --destination-cidr-block 0.0.0.0/0 --network-interface-id "$OWN_ENI")
  if api ec2 replace-route "${route[@]}" > /dev/null || api ec2 create-route "${route[@]}" > /dev/null; then
    LAST_WRITE[$table]=$ROUND_TIME
    ROUTE_TARGET[$table]=$OWN_ENI
    log "decision: $why: $table 0.0.0.0/0 -> $OWN_ENI"
  else
    LAST_WRITE[$table]=$ROUND_TIME
    log "decision: $why: $table not claimed: $(one_line "$(cat "$WORK"/api-error.* 2> /dev/null)")"
  fi
  rm -f "$WORK"/api-error.*
}

decide() {
  local table owner home target
  PENDING_CLAIM=0
  [[ $SELF_STATE == healthy ]] || return 0
  for table in "${TABLES[@]}"; do
    owner=$(owner_of "$table")
    [[ $owner == "$NAT_GROUP_SELF" ]] || continue
    target=${ROUTE_TARGET[$table]}
    [[ $target != "$OWN_ENI" || ${ROUTE_STATE[$table]} == blackhole ]] || continue
    PENDING_CLAIM=1
    ((ROUND_TIME - ${LAST_WRITE[$table]:-0} >= NAT_TABLE_WRITE_HOLD_SECONDS)) || continue
    home=${HOME[$table]}
    if [[ $home == "$NAT_GROUP_SELF" ]]; then
      # Failback: only once peers have had time to see this NAT healthy.
      ((ROUND_TIME - HEALTHY_SINCE >= NAT_FAILBACK_HOLD_SECONDS)) || continue
      claim_table "$table" "home table back to $NAT_GROUP_SELF (was ${target:-no route})"
    else
      # Never take a table from an active route to a NAT not known to be dead (a fresh replacement).
      if [[ -n $target && ${ROUTE_STATE[$table]} == active && $target != "${PEER_ENI[$home]:-}" ]]; then
        local holder='' member
        for member in "${MEMBERS[@]}"; do [[ ${PEER_ENI[$member]:-} == "$target" ]] && holder=$member; done
        [[ -n $holder && ${PEER_ALIVE[$holder]:-yes} == no ]] || continue
      fi
      claim_table "$table" "take $table of $home (${PEER_WHY[$home]:-dead})"
    fi
  done
}

find_owned() {
  local table
  OWNED=()
  for table in "${TABLES[@]}"; do [[ ${ROUTE_TARGET[$table]:-} != "$OWN_ENI" ]] || OWNED+=("$table"); done
}

write_state() {
  local member peers=()
  for member in "${MEMBERS[@]}"; do [[ $member == "$NAT_GROUP_SELF" ]] || peers+=("$member:$([[ ${PEER_ALIVE[$member]:-yes} == yes ]] && echo alive || echo dead)"); done
  mkdir -p "${STATE_FILE%/*}" 2> /dev/null || return 0
  {
    printf '# Written by nat-health-agent every round; see modules/nat/boot/health-agent.README.md.\n'
    printf 'time=%s\nround_seconds=%s\nmember=%s\ninstance=%s\nforwarding_interface=%s\nself=%s\nself_reason=%s\napi=%s\n' \
      "$(now)" "$(($(now) - ROUND_TIME))" "$NAT_GROUP_SELF" "$INSTANCE_ID" "$OWN_ENI" "$SELF_STATE" "$SELF_REASON" "$([[ $API_OK == 1 ]] && echo ok || echo failing)"
    printf 'route_tables_owned=%s\nroute_tables=%s\npeers=%s\n' "${#OWNED[@]}" "$(IFS=,; echo "${OWNED[*]}")" "$(IFS=,; echo "${peers[*]}")"
  } > "$STATE_FILE.tmp" 2> /dev/null && mv -f "$STATE_FILE.tmp" "$STATE_FILE"
}

# Once a minute, in the background (a slow CloudWatch never holds up a round); its errors go to
# its own directory, apart from the round's, and only failures are logged. See the metrics publisher (nat-metrics.sh) for the names.
publish_metrics() {
  [[ -n $NAT_METRICS_NAMESPACE ]] && ((ROUND_TIME - LAST_PUBLISH >= METRICS_EVERY_SECONDS)) || return 0
  LAST_PUBLISH=$ROUND_TIME
  local count max percent dimension data
  count=$(cat /proc/sys/net/netfilter/nf_conntrack_count 2> /dev/null || echo 0)
  max=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2> /dev/null || echo 0)
  percent=$(awk -v count="$count" -v max="$max" 'BEGIN { printf "%.4f", (max > 0 ? 100 * count / max : 0) }')
  dimension="[{\"Name\":\"NatName\",\"Value\":\"$NAT_METRICS_NAME\"}]"
  data="[{\"MetricName\":\"EgressProbe\",\"Dimensions\":$dimension,\"Value\":$CHECK_PASSED,\"Unit\":\"Count\"},"
  data+="{\"MetricName\":\"ConntrackUsePercent\",\"Dimensions\":$dimension,\"Value\":$percent,\"Unit\":\"Percent\"},"
  data+="{\"MetricName\":\"OwnedRouteTables\",\"Dimensions\":$dimension,\"Value\":${#OWNED[@]},\"Unit\":\"Count\"}]"
  send_metrics "$data" &
}

send_metrics() {
  local WORK=$WORK/metrics
  API_CALL_ATTEMPTS=1 api cloudwatch put-metric-data --namespace "$NAT_METRICS_NAMESPACE" --metric-data "$1" > /dev/null ||
    log "metrics not published: $(one_line "$(cat "$WORK"/api-error.* 2> /dev/null)")"
  rm -f "$WORK"/api-error.*
}

# Whether this round must read the route tables: a peer is dead, this NAT recovered lately (its
# tables may be elsewhere), it holds another member's table (the home member may take it back), a
# claim is pending, or every ROUTE_READ_EVERY rounds (drift). In steady state a round costs two API
# calls (heartbeat out, heartbeats in): the AWS CLI is not free.
routes_needed() {
  local member table
  ((ROUND_COUNT % ROUTE_READ_EVERY == 1 || PENDING_CLAIM)) && return 0
  for table in "${TABLES[@]}"; do
    [[ ${HOME[$table]} == "$NAT_GROUP_SELF" || ${ROUTE_TARGET[$table]:-} != "$OWN_ENI" ]] || return 0
  done
  [[ $SELF_STATE == healthy ]] && ((ROUND_TIME - HEALTHY_SINCE <= NAT_FAILBACK_HOLD_SECONDS + 3 * NAT_HEALTH_INTERVAL_SECONDS)) && return 0
  for member in "${MEMBERS[@]}"; do
    [[ $member == "$NAT_GROUP_SELF" || ${PEER_ALIVE[$member]:-yes} == yes ]] || return 0
  done
  return 1
}

round() {
  ROUND_TIME=$(now)
  ROUND_COUNT=$((ROUND_COUNT + 1))
  # Probe, heartbeat out and heartbeats in run side by side: a round costs one call's latency.
  curl -sS -o /dev/null --interface "$PUBLIC_IF" --connect-timeout 2 --max-time 3 "$NAT_HEALTH_PROBE_URL" 2> /dev/null &
  PROBE_PID=$!
  local names=() member
  for member in "${MEMBERS[@]}"; do names+=("$(heartbeat_parameter "$member")"); done
  # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
  api ssm get-parameters --names "${names[@]}" --query 'Parameters[].[`PARAMETERS`,Name,Version,Value]' > "$WORK/heartbeats" &
  local heartbeats_pid=$!
  check_self
  # One try: a heartbeat retried would hold up the round, and the next round publishes anyway.
  API_CALL_ATTEMPTS=1 api ssm put-parameter --name "$(heartbeat_parameter "$NAT_GROUP_SELF")" --type String --overwrite \
    --value "$SELF_STATE $INSTANCE_ID $OWN_ENI $ROUND_TIME" > /dev/null &
  local put_pid=$!
  local read_ok=1
  wait "$heartbeats_pid" || read_ok=0
  wait "$put_pid" || true
  if ((read_ok)); then
    if ((!API_OK)); then
      # Peers could not publish while the API failed either: their heartbeats' age restarts now.
      for member in "${!PEER_SEEN[@]}"; do PEER_SEEN[$member]=$ROUND_TIME PEER_STILL[$member]=0; done
      [[ -z $FIRST_READ ]] || FIRST_READ=$ROUND_TIME
    fi
    FIRST_READ=${FIRST_READ:-$ROUND_TIME}
    read_heartbeats
    judge_peers
    if routes_needed; then
      api ec2 describe-route-tables --route-table-ids "${TABLES[@]}" \
        --query "RouteTables[].[RouteTableId, (Routes[?DestinationCidrBlock=='0.0.0.0/0'].NetworkInterfaceId)[0], (Routes[?DestinationCidrBlock=='0.0.0.0/0'].State)[0]]" \
        > "$WORK/routes" || read_ok=0
      if ((read_ok)); then
        read_routes
        decide
      fi
    fi
  fi
  if ((read_ok)); then
    ((API_OK)) || log "API answers: deciding again"
    API_OK=1
  else
    # No view, no decision: a failing API never causes a takeover.
    ((API_OK == 0)) || log "API failing, no decision until it answers: $(one_line "$(cat "$WORK"/api-error.* 2> /dev/null)")"
    API_OK=0
  fi
  rm -f "$WORK"/api-error.*
  find_owned
  write_state
  publish_metrics
}

main() {
  read_settings
  WORK=$(mktemp -d)
  mkdir "$WORK/metrics"
  trap 'rm -rf "$WORK"' EXIT
  log "starting: group $NAT_GROUP_NAME, member $NAT_GROUP_SELF of ${MEMBERS[*]}, ${#TABLES[@]} route table(s), every ${NAT_HEALTH_INTERVAL_SECONDS}s"
  until discover_identity; do
    log "waiting for instance metadata and the interfaces"
    sleep "$NAT_HEALTH_INTERVAL_SECONDS"
  done
  local started
  while :; do
    started=$(now)
    round
    sleep "$((NAT_HEALTH_INTERVAL_SECONDS - ($(now) - started) > 0 ? NAT_HEALTH_INTERVAL_SECONDS - ($(now) - started) : 0))"
  done
}

main "$@"
