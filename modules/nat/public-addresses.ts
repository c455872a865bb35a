import { Construct } from 'constructs';
import { Fn, ITerraformDependable, Op, TerraformCount, Token } from 'cdktf';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { EipAssociation } from '@cdktf/provider-aws/lib/eip-association';
import { splat } from '../shared/terraform-expressions';
import { tagsWithName } from '../shared/tags';

/**
 * The NAT's public addresses: one Elastic IP per address of its public interface, either owned
 * (an allocation the user brings, which Terraform only associates) or created (allocated here, and
 * released by `terraform destroy`). Owned addresses take the first places; every Elastic IP is
 * associated by network-interface ID, since association by instance ID fails on instances with
 * several interfaces.
 */
export interface PublicAddressesProps {
  /** The public interface (the instance's primary). */
  readonly networkInterfaceId: string;
  /** The private address that carries public address number `place` (0-based, may be a token); undefined: the primary. */
  readonly privateIpOf: (place: number) => string | undefined;
  /** How many public addresses the interface carries; may be a token. */
  readonly count: number;
  /** Allocation IDs (`eipalloc-…`) of Elastic IPs the user owns; may be a token list. */
  readonly ownedAllocationIds: string[];
  /** Allocate Elastic IPs for the places the owned ones leave free; may be a token. */
  readonly createElasticIps: boolean;
  /** The egress IP when there is no Elastic IP at all (the instance's auto-assigned address). */
  readonly fallbackPublicIp: string;
  /**
   * The VPC's internet gateway, or what must exist before it: an Elastic IP is associated as it is
   * created, which may need the gateway first (the provider's `aws_eip` documentation).
   */
  readonly internetGateway?: ITerraformDependable;
  readonly name: string;
  readonly tags: Record<string, string>;
}

export interface PublicAddresses {
  /** Every public address, in the order of the interface's private addresses (owned first). */
  readonly publicIps: string[];
  /** The first of them: the address of the interface's primary private IP. */
  readonly publicIp: string;
  /** The Elastic IPs created here (released on destroy); counted resources when the inputs are tokens. */
  readonly created: Eip[];
  /** The associations of owned Elastic IPs (destroy removes these, never the addresses). */
  readonly associations: EipAssociation[];
}

/** Adds the Elastic IPs and associations to `scope` (construct IDs `eip`, `eip-<n>`, `eip-association-<n>`). */
export function addPublicAddresses(scope: Construct, props: PublicAddressesProps): PublicAddresses {
  const symbolic = [props.count, props.ownedAllocationIds, props.createElasticIps].some((value) => Token.isUnresolved(value));
  return symbolic ? countedAddresses(scope, props) : listedAddresses(scope, props);
}

/** Concrete inputs: one resource per address. */
function listedAddresses(scope: Construct, props: PublicAddressesProps): PublicAddresses {
  const associations = props.ownedAllocationIds.map(
    (allocationId, place) =>
      new EipAssociation(scope, `eip-association-${place}`, {
        allocationId,
        networkInterfaceId: props.networkInterfaceId,
        privateIpAddress: props.privateIpOf(place),
        dependsOn: dependsOnGateway(props),
      }),
  );
  const created: Eip[] = [];
  if (props.createElasticIps) {
    for (let place = associations.length; place < props.count; place++) {
      // The first created address keeps the ID it always had, so upgrades keep the egress IP.
      created.push(
        new Eip(scope, place === 0 ? 'eip' : `eip-${place + 1}`, {
          domain: 'vpc',
          networkInterface: props.networkInterfaceId,
          associateWithPrivateIp: props.privateIpOf(place),
          tags: tagsWithName(props.tags, place === 0 ? props.name : `${props.name}-${place + 1}`),
          dependsOn: dependsOnGateway(props),
        }),
      );
    }
  }
  const publicIps = [...associations.map((association) => association.publicIp), ...created.map((eip) => eip.publicIp)];
  if (publicIps.length === 0) publicIps.push(props.fallbackPublicIp);
  return { publicIps, publicIp: publicIps[0], created, associations };
}

/** Token inputs (module variables): one counted resource for owned and one for created addresses. */
function countedAddresses(scope: Construct, props: PublicAddressesProps): PublicAddresses {
  const ownedCount = Fn.lengthOf(props.ownedAllocationIds);
  const ownedPlaces = TerraformCount.of(ownedCount);
  const association = new EipAssociation(scope, 'eip-association', {
    count: ownedPlaces,
    allocationId: Fn.element(props.ownedAllocationIds, ownedPlaces.index),
    networkInterfaceId: props.networkInterfaceId,
    privateIpAddress: props.privateIpOf(Token.asNumber(ownedPlaces.index)),
    dependsOn: dependsOnGateway(props),
    lifecycle: {
      precondition: [
        {
          condition: Token.asAny(Op.lte(ownedCount, props.count)),
          errorMessage: 'More Elastic IP allocation IDs than public addresses: each address carries one Elastic IP.',
        },
        {
          condition: Token.asAny(props.createElasticIps),
          errorMessage: 'Owned Elastic IPs need elastic_ip = true (it is false).',
        },
      ],
    },
  });
  const createdPlaces = TerraformCount.of(
    // Places the owned addresses leave free; `max` keeps the count valid while the precondition reports.
    Token.asNumber(Fn.conditional(props.createElasticIps, Fn.max([Op.sub(props.count, ownedCount), 0]), 0)),
  );
  const eip = new Eip(scope, 'eip', {
    count: createdPlaces,
    domain: 'vpc',
    networkInterface: props.networkInterfaceId,
    associateWithPrivateIp: props.privateIpOf(Token.asNumber(Op.add(createdPlaces.index, ownedCount))),
    dependsOn: dependsOnGateway(props),
    tags: tagsWithName(props.tags, props.name),
  });
  const elasticIps = Fn.concat([splat(association, 'public_ip'), splat(eip, 'public_ip')]);
  // `>= 1`, not `> 0`: cdktf 0.21 renders the operand 0 of Op.gt as `undefined`.
  const publicIps = Token.asList(Fn.conditional(Op.gte(Fn.lengthOf(elasticIps), 1), elasticIps, [props.fallbackPublicIp]));
  return { publicIps, publicIp: Fn.element(publicIps, 0), created: [eip], associations: [association] };
}

function dependsOnGateway(props: PublicAddressesProps): ITerraformDependable[] | undefined {
  return props.internetGateway ? [props.internetGateway] : undefined;
}
