/**
 * The least-privilege policy of the CodeBuild role that deploys, checks and destroys the
 * nat-example stack. No service wildcard (`ec2:*`, `ssm:*`, `iam:*`) and no wildcard write
 * action: every action is named. Writes are scoped by resource ARN or by the `Stack` tag the
 * example stack puts on everything through the provider's `default_tags`:
 * - create: `aws:RequestTag/Stack` must name the stack (Terraform tags at creation);
 * - change/delete: `aws:ResourceTag/Stack` must name the stack;
 * - parents used by a create (the VPC a subnet goes into): `aws:ResourceTag/Stack` too.
 * Read-only EC2 `Describe*` and the SSM command-status reads have no resource-level
 * permissions in IAM, so they are the only statements on `*`.
 */

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface E2eBuildPolicyContext {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  /** The tag the deployed stack carries on every resource (its provider default tag). */
  readonly stackTag: { readonly key: string; readonly value: string };
  /** The tag that marks the instances the connectivity document may run on. */
  readonly testInstanceTag: { readonly key: string; readonly value: string };
  /** The only role the build may pass, and only to EC2. */
  readonly testInstanceRoleArn: string;
  readonly stateBucketArn: string;
  /** Key prefix of the per-build state files, e.g. `nat-example/`. */
  readonly stateKeyPrefix: string;
  readonly artifactBucketArn: string;
  readonly logGroupArn: string;
  readonly codeBuildProjectName: string;
  readonly connectivityDocumentArn: string;
}

/** Read-only calls that IAM only authorizes on `*` (no resource types in the service authorization reference). */
export const UNSCOPABLE_READ_ACTIONS = [
  'ec2:DescribeAccountAttributes',
  'ec2:DescribeAddresses',
  'ec2:DescribeAddressesAttribute',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeImages',
  'ec2:DescribeInstanceCreditSpecifications',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeInstances',
  'ec2:DescribeInternetGateways',
  'ec2:DescribeNetworkAcls',
  'ec2:DescribeNetworkInterfaceAttribute',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribePrefixLists',
  'ec2:DescribeRegions',
  'ec2:DescribeRouteTables',
  'ec2:DescribeSecurityGroupRules',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeTags',
  'ec2:DescribeVolumes',
  'ec2:DescribeVpcEndpointServices',
  'ec2:DescribeVpcEndpoints',
  'ec2:DescribeVpcs',
  'ssm:DescribeInstanceInformation',
  'ssm:GetCommandInvocation',
  'ssm:ListCommandInvocations',
  'ssm:ListCommands',
];

/** Each create call, the resource type it makes, and the existing resources it builds on. */
const CREATES: ReadonlyArray<{ action: string; creates: string; within: string[] }> = [
  { action: 'ec2:CreateVpc', creates: 'vpc', within: [] },
  { action: 'ec2:CreateInternetGateway', creates: 'internet-gateway', within: [] },
  { action: 'ec2:CreateSubnet', creates: 'subnet', within: ['vpc'] },
  { action: 'ec2:CreateRouteTable', creates: 'route-table', within: ['vpc'] },
  { action: 'ec2:CreateSecurityGroup', creates: 'security-group', within: ['vpc'] },
  { action: 'ec2:CreateNetworkInterface', creates: 'network-interface', within: ['subnet', 'security-group'] },
  { action: 'ec2:CreateVpcEndpoint', creates: 'vpc-endpoint', within: ['vpc', 'subnet', 'security-group', 'route-table'] },
  { action: 'ec2:AllocateAddress', creates: 'elastic-ip', within: [] },
  { action: 'ec2:RunInstances', creates: 'instance', within: ['subnet', 'security-group'] },
];

/** Changes and deletions, allowed only on resources that carry the stack's tag. */
export const OWNED_RESOURCE_ACTIONS = [
  'ec2:AssociateAddress',
  'ec2:AssociateRouteTable',
  'ec2:AttachInternetGateway',
  'ec2:AttachNetworkInterface',
  'ec2:AuthorizeSecurityGroupEgress',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:CreateRoute',
  'ec2:CreateTags',
  'ec2:DeleteInternetGateway',
  'ec2:DeleteNetworkInterface',
  'ec2:DeleteRoute',
  'ec2:DeleteRouteTable',
  'ec2:DeleteSecurityGroup',
  'ec2:DeleteSubnet',
  'ec2:DeleteTags',
  'ec2:DeleteVpc',
  'ec2:DeleteVpcEndpoints',
  'ec2:DetachInternetGateway',
  'ec2:DetachNetworkInterface',
  'ec2:DisassociateAddress',
  'ec2:DisassociateRouteTable',
  'ec2:ModifyInstanceAttribute',
  'ec2:ModifyInstanceMetadataOptions',
  'ec2:ModifyNetworkInterfaceAttribute',
  'ec2:ModifySubnetAttribute',
  'ec2:ModifyVpcAttribute',
  'ec2:ModifyVpcEndpoint',
  'ec2:ReleaseAddress',
  'ec2:ReplaceRoute',
  'ec2:ReplaceRouteTableAssociation',
  'ec2:RevokeSecurityGroupEgress',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:StartInstances',
  'ec2:StopInstances',
  'ec2:TerminateInstances',
  'ec2:UpdateSecurityGroupRuleDescriptionsEgress',
  'ec2:UpdateSecurityGroupRuleDescriptionsIngress',
];

/** Every EC2 resource type the example stack creates (and so tags). */
export const OWNED_RESOURCE_TYPES = [
  'elastic-ip',
  'instance',
  'internet-gateway',
  'network-interface',
  'route-table',
  'security-group',
  'subnet',
  'volume',
  'vpc',
  'vpc-endpoint',
];

export function e2eBuildPolicyStatements(ctx: E2eBuildPolicyContext): PolicyStatement[] {
  const ec2Arn = (type: string) => `arn:${ctx.partition}:ec2:${ctx.region}:${ctx.accountId}:${type}/*`;
  const requestTag = { StringEquals: { [`aws:RequestTag/${ctx.stackTag.key}`]: ctx.stackTag.value } };
  const resourceTag = { StringEquals: { [`aws:ResourceTag/${ctx.stackTag.key}`]: ctx.stackTag.value } };
  const sidOf = (action: string) => action.split(':')[1];

  // One statement per create: the request tag may only vouch for the resource the call creates,
  // never for a parent (else RunInstances could use any subnet, since its request carries the tag).
  const creates = CREATES.map(({ action, creates }): PolicyStatement => ({
    Sid: `${sidOf(action)}TaggedForStack`,
    Effect: 'Allow',
    Action: [action],
    Resource: [ec2Arn(creates)],
    Condition: requestTag,
  }));
  // Parents may be shared: a resource being created has no aws:ResourceTag yet, so this cannot vouch for it.
  const withParents = CREATES.filter(({ within }) => within.length > 0);
  const parentTypes = [...new Set(withParents.flatMap(({ within }) => within))].sort();
  const createInOwned: PolicyStatement = {
    Sid: 'CreateInsideOwnedResources',
    Effect: 'Allow',
    Action: withParents.map(({ action }) => action),
    Resource: parentTypes.map(ec2Arn),
    Condition: resourceTag,
  };

  return [
    { Sid: 'ReadOnlyCallsWithoutResourceLevelPermissions', Effect: 'Allow', Action: UNSCOPABLE_READ_ACTIONS, Resource: ['*'] },
    {
      Sid: 'ReadAttributesOfOwnedResources',
      Effect: 'Allow',
      Action: ['ec2:DescribeInstanceAttribute', 'ec2:DescribeVpcAttribute'],
      Resource: [ec2Arn('instance'), ec2Arn('vpc')],
      Condition: resourceTag,
    },
    ...creates,
    createInOwned,
    {
      // The root volume and primary interface come with the (tag-gated) instance and die with it.
      Sid: 'RunInstancesImplicitParts',
      Effect: 'Allow',
      Action: ['ec2:RunInstances'],
      Resource: [ec2Arn('volume'), ec2Arn('network-interface')],
    },
    {
      Sid: 'RunInstancesFromAmazonImages',
      Effect: 'Allow',
      Action: ['ec2:RunInstances'],
      Resource: [`arn:${ctx.partition}:ec2:${ctx.region}::image/*`],
      Condition: { StringEquals: { 'ec2:Owner': 'amazon' } },
    },
    {
      Sid: 'TagOnlyWhileCreating',
      Effect: 'Allow',
      Action: ['ec2:CreateTags'],
      Resource: OWNED_RESOURCE_TYPES.map(ec2Arn),
      Condition: { StringEquals: { 'ec2:CreateAction': CREATES.map(({ action }) => sidOf(action)) } },
    },
    {
      Sid: 'ChangeAndDeleteOwnedResources',
      Effect: 'Allow',
      Action: OWNED_RESOURCE_ACTIONS,
      Resource: OWNED_RESOURCE_TYPES.map(ec2Arn),
      Condition: resourceTag,
    },
    {
      // Rules of an owned group carry no tags of their own; the group's tag gates the call above.
      Sid: 'RulesOfOwnedSecurityGroups',
      Effect: 'Allow',
      Action: [
        'ec2:AuthorizeSecurityGroupEgress',
        'ec2:AuthorizeSecurityGroupIngress',
        'ec2:RevokeSecurityGroupEgress',
        'ec2:RevokeSecurityGroupIngress',
      ],
      Resource: [ec2Arn('security-group-rule')],
    },
    {
      // The NAT's primary interface is made by RunInstances without tags; the Elastic IP's own tag gates the call.
      Sid: 'ElasticIpOnUntaggedPrimaryInterface',
      Effect: 'Allow',
      Action: ['ec2:AssociateAddress', 'ec2:DisassociateAddress'],
      Resource: [ec2Arn('network-interface')],
    },
    {
      // Interface endpoints with private DNS associate the VPC with an AWS-managed private hosted zone.
      Sid: 'PrivateDnsOfInterfaceEndpoints',
      Effect: 'Allow',
      Action: ['route53:AssociateVPCWithHostedZone'],
      Resource: [`arn:${ctx.partition}:route53:::hostedzone/*`],
    },
    {
      Sid: 'PassOnlyTheTestInstanceRoleToEc2',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: [ctx.testInstanceRoleArn],
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    },
    {
      Sid: 'ReadAmazonLinuxAmiParameters',
      Effect: 'Allow',
      Action: ['ssm:GetParameter', 'ssm:GetParameters'],
      // Public parameters have no account in their ARN; `*` also matches the empty field.
      Resource: [`arn:${ctx.partition}:ssm:${ctx.region}:*:parameter/aws/service/ami-amazon-linux-latest/*`],
    },
    {
      Sid: 'SendTheConnectivityDocument',
      Effect: 'Allow',
      Action: ['ssm:SendCommand'],
      Resource: [ctx.connectivityDocumentArn],
    },
    {
      Sid: 'SendOnlyToTestInstances',
      Effect: 'Allow',
      Action: ['ssm:SendCommand'],
      Resource: [ec2Arn('instance')],
      Condition: { StringEquals: { [`ssm:resourceTag/${ctx.testInstanceTag.key}`]: ctx.testInstanceTag.value } },
    },
    {
      // No prefix condition: `terraform init` also lists the workspace prefix (`env:/`). Listing names is read-only.
      Sid: 'ListStateFiles',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [ctx.stateBucketArn],
    },
    {
      Sid: 'ReadWriteStateFiles',
      Effect: 'Allow',
      Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
      Resource: [`${ctx.stateBucketArn}/${ctx.stateKeyPrefix}*`],
    },
    {
      Sid: 'ReadSourceArtifacts',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: [`${ctx.artifactBucketArn}/*`],
    },
    {
      Sid: 'LocateArtifactBucket',
      Effect: 'Allow',
      Action: ['s3:GetBucketAcl', 's3:GetBucketLocation'],
      Resource: [ctx.artifactBucketArn],
    },
    {
      Sid: 'WriteBuildLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [ctx.logGroupArn, `${ctx.logGroupArn}:*`],
    },
    {
      Sid: 'PublishTestReports',
      Effect: 'Allow',
      Action: ['codebuild:BatchPutTestCases', 'codebuild:CreateReport', 'codebuild:CreateReportGroup', 'codebuild:UpdateReport'],
      Resource: [`arn:${ctx.partition}:codebuild:${ctx.region}:${ctx.accountId}:report-group/${ctx.codeBuildProjectName}-*`],
    },
  ];
}
