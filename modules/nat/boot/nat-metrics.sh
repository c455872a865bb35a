#!/bin/bash
# cdktf-nat-instance metrics publisher: tells CloudWatch, once a minute, how this NAT is doing.
#
# Run by nat-metrics.timer (systemd), one publication per run. It reads /etc/nat-instance/metrics
# (written by the same user data as the boot script; parsed, never sourced), asks instance
# metadata (IMDSv2) for its region, measures, and sends one PutMetricData call to its namespace
# with the dimension NatName:
#   EgressProbe          1 when the data path works: forwarding on, the NAT's nftables table with
#                        its translation loaded, and an HTTP(S) request through the public
#                        interface answered; else 0 (the reason is logged)
#   ConntrackUsePercent  connection-tracking entries in use, in percent of nf_conntrack_max
# A NAT group's members run no publisher: their health agent publishes the same two metrics and
# OwnedRouteTables (nat-health-agent.sh).
# It exits non-zero with one line when the settings are bad or CloudWatch refuses the data.
set -euo pipefail

readonly SETTINGS_FILE=/etc/nat-instance/metrics
readonly NFT_TABLE=nat_instance
readonly PROBE_SECONDS=10
# IMDSv2 (the instance requires tokens). NAT_IMDS_ENDPOINT exists for the lab's metadata double.
readonly IMDS_ENDPOINT=${NAT_IMDS_ENDPOINT:-http://169.254.169.254}

NAT_METRICS_NAMESPACE=''
NAT_METRICS_NAME=''
NAT_METRICS_PROBE_URL=''
REGION=''

log() {
  echo "nat-metrics: $*"
}

fail() {
  echo "nat-metrics: FAILED: $*" >&2
  exit 1
}

read_settings() {
  [[ -r $SETTINGS_FILE ]] || fail "settings file $SETTINGS_FILE is missing or unreadable"
  local line key value number=0
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line == *=* ]] || fail "settings line $number is not KEY=value: '$line'"
    key=${line%%=*}
    value=${line#*=}
    case $key in
      NAT_METRICS_NAMESPACE | NAT_METRICS_NAME | NAT_METRICS_PROBE_URL) printf -v "$key" '%s' "$value" ;;
      *) fail "unknown setting '$key' in $SETTINGS_FILE (line $number)" ;;
    esac
  done < "$SETTINGS_FILE"
  # CloudWatch's rules for a namespace; the construct's for the NAT's name.
  [[ $NAT_METRICS_NAMESPACE =~ ^[A-Za-z0-9._/#:-]{1,255}$ && $NAT_METRICS_NAMESPACE != AWS/* ]] ||
    fail "setting NAT_METRICS_NAMESPACE must be a CloudWatch namespace outside AWS/, got '$NAT_METRICS_NAMESPACE'"
  [[ $NAT_METRICS_NAME =~ ^[A-Za-z0-9_+=,.@-]{1,255}$ ]] || fail "setting NAT_METRICS_NAME must be 1 to 255 of A-Za-z0-9_+=,.@-, got '$NAT_METRICS_NAME'"
  [[ $NAT_METRICS_PROBE_URL =~ ^https?://[^[:space:]]+$ ]] || fail "setting NAT_METRICS_PROBE_URL must be an http(s) URL, got '$NAT_METRICS_PROBE_URL'"
}

# The instance's region, from instance metadata: a token, then the value (short timeouts, one try
# each: the timer runs again in a minute).
read_region() {
  local token
  token=$(curl -sS -f --connect-timeout 2 --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
    "$IMDS_ENDPOINT/latest/api/token" 2> /dev/null) || fail "no IMDSv2 token from $IMDS_ENDPOINT"
  REGION=$(curl -sS -f --connect-timeout 2 --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
    "$IMDS_ENDPOINT/latest/meta-data/placement/region" 2> /dev/null) || REGION=''
  [[ $REGION =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || fail "instance metadata gave no region (got '${REGION:0:60}')"
}

# 1 when traffic from the private subnets can leave: forwarding on, our table's translation
# loaded, and a request through the public interface (the host's own traffic takes the same
# interface, address and internet gateway) answered. Prints the value; logs the reason for 0.
egress_probe() {
  local forwarding chain errors
  forwarding=$(cat /proc/sys/net/ipv4/ip_forward 2> /dev/null || echo 0)
  if [[ $forwarding != 1 ]]; then
    log "egress probe: IPv4 forwarding is off" >&2
    echo 0
    return 0
  fi
  # Read first, then match: `grep -q` would close the pipe early and pipefail would count nft's SIGPIPE.
  chain=$(nft list chain ip "$NFT_TABLE" postrouting 2> /dev/null) || chain=''
  if [[ $chain != *masquerade* && $chain != *snat* ]]; then
    log "egress probe: table ip $NFT_TABLE has no translation loaded" >&2
    echo 0
    return 0
  fi
  if ! errors=$(curl -sS -o /dev/null -f --connect-timeout 5 --max-time "$PROBE_SECONDS" "$NAT_METRICS_PROBE_URL" 2>&1); then
    log "egress probe: $NAT_METRICS_PROBE_URL: ${errors//$'\n'/ }" >&2
    echo 0
    return 0
  fi
  echo 1
}

# Entries in use in percent of the table's size, 4 decimals (a busy NAT moves in hundredths).
conntrack_use_percent() {
  local count max
  count=$(cat /proc/sys/net/netfilter/nf_conntrack_count 2> /dev/null || echo 0)
  max=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2> /dev/null || echo 0)
  awk -v count="$count" -v max="$max" 'BEGIN { printf "%.4f\n", (max > 0 ? 100 * count / max : 0) }'
}

# One PutMetricData call with every metric. AWS_ENDPOINT_URL_CLOUDWATCH is honoured even by CLI
# versions that predate service-specific endpoint variables (the lab's emulated CloudWatch).
publish() {
  local probe=$1 conntrack=$2 endpoint=() dimension data errors
  [[ -z ${AWS_ENDPOINT_URL_CLOUDWATCH:-} ]] || endpoint=(--endpoint-url "$AWS_ENDPOINT_URL_CLOUDWATCH")
  dimension="[{\"Name\":\"NatName\",\"Value\":\"$NAT_METRICS_NAME\"}]"
  data="[{\"MetricName\":\"EgressProbe\",\"Dimensions\":$dimension,\"Value\":$probe,\"Unit\":\"Count\"},"
  data+="{\"MetricName\":\"ConntrackUsePercent\",\"Dimensions\":$dimension,\"Value\":$conntrack,\"Unit\":\"Percent\"}]"
  errors=$(AWS_PAGER='' aws cloudwatch put-metric-data --region "$REGION" --namespace "$NAT_METRICS_NAMESPACE" \
    --metric-data "$data" "${endpoint[@]}" --cli-connect-timeout 5 --cli-read-timeout 15 2>&1 > /dev/null) ||
    fail "CloudWatch refused the metrics: ${errors//$'\n'/ }"
}

main() {
  read_settings
  command -v aws > /dev/null || fail "the AWS CLI ('aws') is not installed"
  read_region
  local probe conntrack
  probe=$(egress_probe)
  conntrack=$(conntrack_use_percent)
  publish "$probe" "$conntrack"
  log "published to $NAT_METRICS_NAMESPACE (NatName=$NAT_METRICS_NAME, $REGION): EgressProbe=$probe ConntrackUsePercent=$conntrack"
}

main "$@"
