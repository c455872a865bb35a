import { Construct } from 'constructs';
import { Fn, ITerraformDependable, TerraformIterator, Token } from 'cdktf';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group';
import { SELF_HEALING_TAG_KEY } from '../iam/self-healing-policy';
import { tagsWithName } from '../shared/tags';
import { mixedInstancesPolicyOf } from './instance-mix';

export interface NatAutoScalingGroupProps {
  readonly name: string;
  readonly amiId: string;
  readonly instanceType: string;
  /** More instance types, in order of preference after `instanceType`. */
  readonly fallbackInstanceTypes?: string[];
  /** Spot capacity instead of on-demand. */
  readonly spot?: boolean;
  readonly keyName?: string;
  readonly instanceProfileName: string;
  /** The public subnet the instances launch in (one zone: the group replaces, it does not spread). */
  readonly publicSubnetId: string;
  readonly securityGroupId: string;
  /** base64 of the user data (gzip-compressed by Terraform). */
  readonly userDataBase64: string;
  readonly rootVolumeSize: number;
  /** Keep the running instance when a newer AMI is published (a refresh needs a new template version). */
  readonly ignoreAmiUpdates: boolean;
  /** IAM the instance needs at its first boot: the group waits for it. */
  readonly dependsOn: ITerraformDependable[];
  readonly tags: Record<string, string>;
}

/**
 * A launch template and an Auto Scaling group of exactly one NAT instance: EC2 replaces a NAT
 * that fails its status checks or is terminated, and a new template version (any settings
 * change: the user data is part of it) replaces the running one by an instance refresh.
 *
 * The instance launches with one interface, in the public subnet, with an auto-assigned public
 * address: that is how it reaches the EC2 API before its Elastic IP is associated (EC2
 * auto-assigns no public address to a launch with several interfaces). The boot script then
 * attaches the static forwarding interface (dual mode), associates the Elastic IP and claims the
 * route tables. Every instance and interface it launches carries the `nat-instance` tag that
 * scopes the instance's IAM (`SelfHealingPolicy`).
 *
 * With `fallbackInstanceTypes` or `spot` the group launches through a mixed instances policy: the
 * first type in order of preference that EC2 has capacity for, on-demand or Spot (instance-mix.ts).
 */
export class NatAutoScalingGroup extends Construct {
  public readonly launchTemplate: LaunchTemplate;
  public readonly autoScalingGroup: AutoscalingGroup;
  /** The group's name (stable: the instance ID changes with every replacement). */
  public readonly autoScalingGroupName: string;

  constructor(scope: Construct, id: string, props: NatAutoScalingGroupProps) {
    super(scope, id);
    const ownTags = Token.isUnresolved(props.tags)
      ? (Fn.merge([props.tags, { [SELF_HEALING_TAG_KEY]: props.name }]) as unknown as Record<string, string>)
      : { ...props.tags, [SELF_HEALING_TAG_KEY]: props.name };
    const groupTags = tagsWithName(props.tags, props.name);
    const tagIterator = Token.isUnresolved(groupTags) ? TerraformIterator.fromMap(groupTags) : undefined;
    this.launchTemplate = new LaunchTemplate(this, 'launch-template', {
      namePrefix: `${props.name}-`,
      description: `${props.name}: NAT instance (self-healing)`,
      imageId: props.amiId,
      instanceType: props.instanceType,
      keyName: props.keyName,
      iamInstanceProfile: { name: props.instanceProfileName },
      userData: props.userDataBase64,
      // A launch template cannot turn the source/destination check off: the boot script does (single mode).
      networkInterfaces: [
        {
          deviceIndex: 0,
          subnetId: props.publicSubnetId,
          securityGroups: [props.securityGroupId],
          associatePublicIpAddress: 'true',
          deleteOnTermination: 'true',
        },
      ],
      metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' },
      blockDeviceMappings: [
        {
          deviceName: '/dev/xvda',
          ebs: { volumeType: 'gp3', volumeSize: props.rootVolumeSize, encrypted: 'true', deleteOnTermination: 'true' },
        },
      ],
      tagSpecifications: [
        { resourceType: 'instance', tags: tagsWithName(ownTags, props.name) },
        { resourceType: 'network-interface', tags: tagsWithName(ownTags, props.name) },
        { resourceType: 'volume', tags: tagsWithName(props.tags, `${props.name}-root`) },
      ],
      updateDefaultVersion: true,
      tags: tagsWithName(props.tags, props.name),
      lifecycle: props.ignoreAmiUpdates ? { ignoreChanges: ['image_id'] } : undefined,
    });
    const launchTemplate = { id: this.launchTemplate.id, version: Token.asString(this.launchTemplate.latestVersion) };
    // Several types or Spot: a mixed instances policy names the template (the two exclude each other).
    const mixedInstancesPolicy = mixedInstancesPolicyOf({
      launchTemplateId: launchTemplate.id,
      launchTemplateVersion: launchTemplate.version,
      instanceType: props.instanceType,
      fallbackInstanceTypes: props.fallbackInstanceTypes,
      spot: props.spot,
    });
    this.autoScalingGroup = new AutoscalingGroup(this, 'group', {
      namePrefix: `${props.name}-`,
      minSize: 1,
      maxSize: 1,
      desiredCapacity: 1,
      vpcZoneIdentifier: [props.publicSubnetId],
      launchTemplate: mixedInstancesPolicy ? undefined : launchTemplate,
      mixedInstancesPolicy,
      healthCheckType: 'EC2',
      healthCheckGracePeriod: 60,
      // A new template version replaces the instance. With one instance there is nothing to keep
      // healthy during the refresh: the old one goes first, so the new one can take its interface.
      instanceRefresh: { strategy: 'Rolling', preferences: { minHealthyPercentage: 0 } },
      // The template tags the instances; the group's own tags stay on the group.
      tag: tagIterator
        ? tagIterator.dynamic({ key: tagIterator.key, value: tagIterator.value, propagate_at_launch: false })
        : Object.entries(groupTags).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
      dependsOn: props.dependsOn,
    });
    this.autoScalingGroupName = this.autoScalingGroup.name;
  }
}
