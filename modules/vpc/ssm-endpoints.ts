import { Construct } from 'constructs';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';

export interface SsmEndpointsProps {
  readonly vpcId: string;
  /** Clients allowed to reach the endpoints on 443. */
  readonly vpcCidr: string;
  /** At most one subnet per availability zone. */
  readonly subnetIds: string[];
  readonly tags: Record<string, string>;
}

/** The services Session Manager and Run Command need (`ec2messages` for older agents). */
export const SSM_ENDPOINT_SERVICES = ['ssm', 'ssmmessages', 'ec2messages'];

/** Interface endpoints that keep instances reachable through SSM without internet access. */
export class SsmEndpoints extends Construct {
  public readonly securityGroupId: string;

  constructor(scope: Construct, id: string, props: SsmEndpointsProps) {
    super(scope, id);
    const region = new DataAwsRegion(this, 'region');
    const group = new SecurityGroup(this, 'sg', {
      vpcId: props.vpcId,
      description: 'HTTPS from the VPC to the SSM interface endpoints',
      ingress: [{ description: 'HTTPS from the VPC', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [props.vpcCidr] }],
      tags: props.tags,
    });
    this.securityGroupId = group.id;
    for (const service of SSM_ENDPOINT_SERVICES) {
      new VpcEndpoint(this, service, {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${region.id}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds: props.subnetIds,
        securityGroupIds: [group.id],
        tags: { ...props.tags, Name: `${props.tags.Name}-${service}` },
      });
    }
  }
}
