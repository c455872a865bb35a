import type { ITerraformDependable } from 'cdktf';
import type { SubnetInfo, SubnetListInfo } from '../shared/subnet';
import type { ForwardProtocol, NatMode, RouteMode } from './boot-settings';
import type { NatAlarmOptions } from './nat-alarms';
import type { HealthAgentSettings } from './health-agent';

/** An inbound port forward: a public port of the NAT to a port of a private instance. */
export interface PortForward {
  /** The port clients connect to on the NAT's public address (1-65535). */
  readonly publicPort: number;
  /**
   * @default 'tcp'
   */
  readonly protocol?: ForwardProtocol;
  /**
   * The private instance's IPv4 address: a usable address of one of `privateSubnets` (not one of
   * the five addresses AWS reserves in every subnet: network, VPC router, DNS, future use, broadcast).
   */
  readonly targetIp: string;
  /** The port on the private instance (1-65535). */
  readonly targetPort: number;
  /** Client CIDR blocks allowed to use the forward (security group and nftables); required, non-empty. */
  readonly allowedCidrs: string[];
  /**
   * `true`: the target sees the client's address (its replies must route back through this NAT).
   * `false`: the target sees the NAT's private address (works when the target's security group
   * admits only the NAT).
   * @default true
   */
  readonly preserveClientIp?: boolean;
  /**
   * Let `allowedCidrs` cover the internet: 2^25 addresses or more together (`0.0.0.0/0`, or the
   * same split into parts such as `0.0.0.0/1` and `128.0.0.0/1`). Refused otherwise: exposing a
   * private port to the whole internet should be a deliberate choice.
   * @default false
   */
  readonly allowAnySource?: boolean;
}

export interface NatInstanceProps {
  /**
   * Name prefix for the `Name` tag and resource names (IAM role and policy, security group): 1-64
   * ASCII letters, digits or `_+=,.@-`, not starting with `sg-`.
   * @default 'nat-instance'
   */
  readonly name?: string;
  /** The VPC the NAT serves. */
  readonly vpcId: string;
  /**
   * `single`: one interface in the public subnet does both sides (seeds 000/004).
   * `dual`: the primary interface in the public subnet, a second one in a private subnet
   * receives the private traffic (seeds 001/003). A token (module variable) makes the
   * second interface conditional.
   * @default 'single'
   */
  readonly mode?: NatMode;
  /** The public subnet of the NAT's primary interface (routed to an internet gateway). */
  readonly publicSubnet: SubnetInfo;
  /**
   * The private subnets whose traffic the NAT translates. Their CIDRs feed the security group and
   * the ruleset. A `SubnetListInfo` (token lists) serves plain-Terraform module variables.
   */
  readonly privateSubnets: SubnetInfo[] | SubnetListInfo;
  /**
   * Dual mode: the private subnet of the forwarding interface; it must be in the public subnet's zone.
   * Required when `privateSubnets` is a `SubnetListInfo`.
   * @default privateSubnets[0]
   */
  readonly forwardingSubnet?: SubnetInfo;
  /** Route tables whose `0.0.0.0/0` must point at the NAT; may be a token list. */
  readonly routeTableIds: string[];
  /**
   * `terraform`: Terraform creates the `0.0.0.0/0` routes. `self-claim`: the instance points the
   * route tables at itself at every boot (EC2 API, IAM scoped to these route tables), so a
   * replacement heals routes without Terraform.
   * @default 'terraform', or 'self-claim' when `selfHealing` is on
   */
  readonly routeMode?: RouteMode;
  /**
   * Self-healing: a launch template and an Auto Scaling group of exactly one instance instead of a
   * plain instance. EC2 replaces an instance that fails its status checks or is terminated, and a
   * settings change rolls out a new template version (instance refresh). The replacement
   * associates the Elastic IP with itself, attaches the static forwarding interface (dual mode),
   * turns off its source/destination check (single mode) and claims the route tables at boot: egress
   * comes back through the same IP with no Terraform run. Needs `routeMode: 'self-claim'` (the
   * default when this is on), the AWS CLI on the AMI, and the EC2 API reachable through the
   * instance's public address. See docs/high-availability.md.
   * @default false
   */
  readonly selfHealing?: boolean;
  /**
   * Associate an Elastic IP with the public interface (by network-interface ID). Keeps the egress
   * IP across stop/start and replacement; dual mode needs it, since an instance with several
   * interfaces loses its auto-assigned public IP on stop/start. May be a token (module variable).
   * @default true
   */
  readonly elasticIp?: boolean;
  /**
   * Elastic IPs you already own (allocation IDs, `eipalloc-…`), e.g. addresses partners have
   * allow-listed. They are associated with the public interface instead of new ones; Terraform
   * manages only the association, so `terraform destroy` never releases them. Needs `elasticIp`.
   * May be a token list (module variable).
   * @default [] (the Elastic IP is allocated by this construct)
   */
  readonly elasticIpAllocationIds?: string[];
  /**
   * Public IPv4 addresses of the NAT, each with an Elastic IP (owned ones first, the rest created).
   * One address gives at most 64,512 concurrent connections to one destination (address, port,
   * protocol); each address adds as many. Above 1 the public interface gets secondary private
   * addresses and the boot script spreads new connections over all of them (a flow keeps its
   * address). At most what one network interface of `instanceType` carries (2 on a t4g.nano).
   * May be a token (module variable).
   * @default the number of `elasticIpAllocationIds`, at least 1
   */
  readonly publicIpCount?: number;
  /**
   * The VPC's internet gateway (e.g. `network.internetGateway`), or anything Terraform must
   * create before it. The Elastic IP is associated as it is created, and the provider's `aws_eip`
   * documentation warns that an association may need the gateway to exist: with this, the EIP
   * depends on it. Pass it whenever the gateway is created in the same configuration.
   * @default no dependency (fine when the gateway already exists)
   */
  readonly internetGateway?: ITerraformDependable;
  /**
   * @default 't4g.nano'
   */
  readonly instanceType?: string;
  /**
   * Self-healing only: more instance types, in order of preference after `instanceType`. The Auto
   * Scaling group launches the first of `instanceType` and these that EC2 has capacity for, so a
   * replacement still launches when the zone runs short of `instanceType`. Each must have the
   * architecture of `instanceType` (one AMI serves them all) and carry `publicIpCount` addresses on
   * one interface. Items may be tokens, the list itself not (its order matters).
   * @default [] (`instanceType` only)
   */
  readonly fallbackInstanceTypes?: string[];
  /**
   * Self-healing only: run the NAT on Spot capacity (`instanceType` and `fallbackInstanceTypes`,
   * chosen `capacity-optimized-prioritized`). EC2 may reclaim a Spot instance with two minutes'
   * notice: the group then launches a replacement, as it does for a failed instance (an egress gap
   * of one boot). There is no on-demand fallback: list several types to widen the Spot pools.
   * @default false
   */
  readonly spot?: boolean;
  /**
   * A custom AMI; it needs cloud-init, iproute2 and nftables (and the AWS CLI for `self-claim`).
   * @default the latest Amazon Linux 2023 AMI for the architecture, from the public SSM parameter
   */
  readonly amiId?: string;
  /**
   * CPU architecture; needed only when it cannot be derived from `instanceType` (a token).
   * @default derived from `instanceType` (`*g*.` families are arm64)
   */
  readonly architecture?: 'arm64' | 'x86_64';
  /**
   * Replace the instance when a newer AMI is published. Off by default: a NAT replacement
   * interrupts egress, so it should be a deliberate apply.
   * @default false
   */
  readonly replaceOnAmiUpdate?: boolean;
  /**
   * More client CIDRs admitted by the NAT's security group on every port (peered VPCs, Transit
   * Gateway ranges). They are also translated. Together they must cover fewer than 2^25 addresses
   * unless `allowAnyClientSource` is set.
   * @default []
   */
  readonly additionalCidrs?: string[];
  /**
   * Let `additionalCidrs` cover the internet (2^25 addresses or more, however split): every port
   * of the NAT, and its forwarding, open to the world. Refused otherwise.
   * @default false
   */
  readonly allowAnyClientSource?: boolean;
  /**
   * Security groups whose members the NAT's security group admits.
   * @default []
   */
  readonly additionalSecurityGroupIds?: string[];
  /**
   * An EC2 key pair for SSH. SSH is closed unless `sshCidrs` is given too.
   * @default no key pair
   */
  readonly keyName?: string;
  /**
   * CIDRs admitted to SSH (22/tcp) on the NAT. Together they must cover fewer than 2^25 addresses
   * unless `allowAnySshSource` is set.
   * @default [] (no SSH ingress)
   */
  readonly sshCidrs?: string[];
  /**
   * Let `sshCidrs` cover the internet (2^25 addresses or more, however split). Refused otherwise.
   * @default false
   */
  readonly allowAnySshSource?: boolean;
  /**
   * The name (not the ARN) of an instance profile the caller owns. When omitted, a role with SSM
   * core access is created.
   * @default a new role and profile
   */
  readonly instanceProfileName?: string;
  /**
   * The role behind `instanceProfileName`, when you know it: the NAT's own policies (metrics,
   * route self-claim) are attached to it.
   * @default none: with your own profile, attach `metricsPolicy` and `routeClaimPolicy` yourself
   */
  readonly instanceRoleName?: string;
  /**
   * Inbound port forwards to private instances. May be a token (a plain-Terraform module's
   * variable): a Terraform list of objects with the attributes `protocol`, `public_port`,
   * `target_ip`, `target_port`, `preserve_client_ip`, `allowed_cidrs`, all set; Terraform then
   * builds the settings lines and security-group rules, and the variable's validation checks them.
   * @default []
   */
  readonly portForwards?: PortForward[];
  /**
   * How long the boot script waits for a late-attached secondary interface (dual mode), 0-3600
   * seconds; 0 looks once.
   * @default 120
   */
  readonly interfaceWaitSeconds?: number;
  /**
   * Connection-tracking table size (the kernel's default on a 0.5 GiB instance is ~30k).
   * @default 262144
   */
  readonly conntrackMax?: number;
  /**
   * Root volume size in GiB (gp3, encrypted).
   * @default 8
   */
  readonly rootVolumeSize?: number;
  /**
   * The cross-zone health agent, set by `NatGroup` for each of its members: the user data installs
   * it as a systemd service. Use NatGroup rather than setting this yourself.
   * @default no health agent
   */
  readonly healthAgent?: HealthAgentSettings;
  /**
   * A small metrics publisher on the instance (a systemd timer, once a minute) that sends
   * `EgressProbe`, `ConntrackUsePercent` and `OwnedRouteTables` to the CloudWatch namespace
   * `cdktf-nat-instance` with the dimension `NatName = name`; the created role may publish to
   * that namespace only. May be a token (module variable).
   * @default true
   */
  readonly metrics?: boolean;
  /**
   * What the publisher's egress probe fetches through the public interface (http or https).
   * @default 'https://checkip.amazonaws.com/'
   */
  readonly egressProbeUrl?: string;
  /**
   * CloudWatch alarms, each on unless switched off: EC2's automatic recovery on a failed system
   * status check, a reboot on a failed instance status check, the egress probe failing, connection
   * tracking above 80 %; and an optional SNS topic for notifications.
   * @default every alarm on, no topic
   */
  readonly alarms?: NatAlarmOptions;
  /**
   * Tags for every resource: at most 50 counting the `Name` tag added to each, no `aws:` keys.
   * @default {}
   */
  readonly tags?: Record<string, string>;
}
