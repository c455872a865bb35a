/**
 * The nat-module stack must be a Terraform module that HCL users can call with `module {}`:
 * no provider or backend, every variable used, every reference declared, the same resources as
 * the concrete construct, and user data that Terraform renders exactly as the concrete path does.
 */
import { App } from 'cdktf';
import { NatModuleStack } from '../../stacks/nat-module';
import { NatInstance, PortForward } from '../../modules/nat';
import { synthesize, synthesizeStack } from './support/synth';
import { evaluateTerraformString, evaluateTerraformValue } from './support/terraform-console';
import { userDataOf } from '../support/user-data-of';

const moduleJson = synthesizeStack(new NatModuleStack(new App(), 'nat-module')).json;
const moduleText = JSON.stringify(moduleJson);

/** Sample forwards for both paths: TCP with the client address preserved, UDP masqueraded, two sources. */
const SAMPLE_FORWARDS: PortForward[] = [
  { publicPort: 9999, targetIp: '10.8.1.10', targetPort: 22, allowedCidrs: ['203.0.113.7/32', '198.51.100.0/24'] },
  { publicPort: 5353, protocol: 'udp', targetIp: '10.8.2.20', targetPort: 53, allowedCidrs: ['198.51.100.0/24'], preserveClientIp: false },
];
/** The same forwards as an HCL user writes them (optional attributes left to their defaults). */
const SAMPLE_PORT_FORWARDS = [
  { public_port: 9999, target_ip: '10.8.1.10', target_port: 22, allowed_cidrs: ['203.0.113.7/32', '198.51.100.0/24'] },
  {
    public_port: 5353,
    protocol: 'udp',
    target_ip: '10.8.2.20',
    target_port: 53,
    allowed_cidrs: ['198.51.100.0/24'],
    preserve_client_ip: false,
  },
];
/** `port_forwards` with the module's own type, so Terraform applies the optional attributes' defaults. */
const portForwardsVariable = (value: unknown[]) => ({ type: moduleJson.variable.port_forwards.type as string, value });

/** Every `${…}` interpolation in the JSON document (nested ones included once). */
function interpolations(text: string): string[] {
  return text.match(/\$\{[^"]*?\}/g) ?? [];
}

function declaredAddresses(json: Record<string, any>): Set<string> {
  const addresses = new Set<string>();
  for (const [type, blocks] of Object.entries(json.resource ?? {}))
    for (const name of Object.keys(blocks as object)) addresses.add(`${type}.${name}`);
  for (const [type, blocks] of Object.entries(json.data ?? {}))
    for (const name of Object.keys(blocks as object)) addresses.add(`data.${type}.${name}`);
  for (const name of Object.keys(json.variable ?? {})) addresses.add(`var.${name}`);
  for (const name of Object.keys(json.locals ?? {})) addresses.add(`local.${name}`);
  return addresses;
}

function resourceTypes(json: Record<string, any>): string[] {
  return Object.keys(json.resource ?? {}).sort();
}

describe('nat-module stack as a plain Terraform module', () => {
  test('THEN it has no provider block and no backend, and requires hashicorp/aws with a >= constraint', () => {
    expect(moduleJson.provider).toBeUndefined();
    expect(moduleJson.terraform.backend).toBeUndefined();
    expect(moduleJson.terraform.required_providers.aws.source).toBe('hashicorp/aws');
    expect(moduleJson.terraform.required_providers.aws.version).toMatch(/^>= \d+/);
  });

  test('THEN it declares the reusable module inputs with types and descriptions', () => {
    const expected = [
      'vpc_id',
      'public_subnet_id',
      'private_subnet_ids',
      'route_table_ids',
      'elastic_ip',
      'instance_type',
      'additional_security_group_ids',
      'additional_cidrs',
      'name',
      'tags',
      'mode',
      'port_forwards',
      'allow_any_client_source',
      'eip_allocation_ids',
      'public_ip_count',
      'metrics',
      'alarm_recover_on_system_failure',
      'alarm_reboot_on_instance_failure',
      'alarm_egress_probe',
      'alarm_connection_tracking',
      'alarm_topic_arn',
    ];
    expect(Object.keys(moduleJson.variable).sort()).toEqual([...expected].sort());
    for (const [name, variable] of Object.entries<any>(moduleJson.variable)) {
      expect({ name, type: typeof variable.type, description: typeof variable.description }).toEqual({
        name,
        type: 'string',
        description: 'string',
      });
    }
  });

  test('THEN port_forwards is an optional list of typed forwards, empty by default', () => {
    const variable = moduleJson.variable.port_forwards;
    expect(variable.default).toEqual([]);
    expect(variable.description).toMatch(/allowed_cidrs/);
    const type = (variable.type as string).replace(/\s+/g, ' ');
    expect(type).toMatch(/^list\(object\(\{ .* \}\)\)$/);
    for (const attribute of [
      'public_port = number',
      'protocol = optional(string, "tcp")',
      'target_ip = string',
      'target_port = number',
      'allowed_cidrs = list(string)',
      'preserve_client_ip = optional(bool, true)',
      'allow_any_source = optional(bool, false)',
    ]) {
      expect(type).toContain(attribute);
    }
  });

  test('THEN it warns (a check block) in dual mode without an Elastic IP, and needs a Terraform that knows check blocks', () => {
    expect(moduleJson.check).toEqual({
      dual_mode_elastic_ip: {
        assert: [
          {
            condition: '${var.mode != "dual" || var.elastic_ip}',
            error_message: expect.stringMatching(/^elastic_ip is false in dual mode/),
          },
        ],
      },
    });
    expect(moduleJson.terraform.required_version).toBe('>= 1.5');
  });

  test('THEN the instance carries the checks across variables and looked-up subnets as preconditions (run by terraform plan in test/terraform)', () => {
    const instance = Object.values<any>(moduleJson.resource.aws_instance)[0];
    expect(instance.lifecycle.precondition.map((p: { error_message: string }) => p.error_message)).toEqual([
      expect.stringMatching(/^\$\{format\("port_forwards: target_ip must be a usable address of one of private_subnet_ids/),
      expect.stringMatching(/^additional_cidrs covers 2\^25 addresses or more/),
    ]);
    expect(instance.lifecycle.ignore_changes).toEqual(['ami']);
  });

  test('THEN every variable is used somewhere outside its own declaration', () => {
    const { variable, ...rest } = moduleJson;
    const body = JSON.stringify(rest);
    const unused = Object.keys(variable).filter((name) => !new RegExp(`var\\.${name}\\b`).test(body));
    expect(unused).toEqual([]);
  });

  test('THEN every reference names a resource, data source, variable or local declared in the module', () => {
    const declared = declaredAddresses(moduleJson);
    const references = interpolations(moduleText).flatMap(
      (expression) =>
        expression.match(/\b(?:data\.aws_[a-z0-9_]+\.[A-Za-z0-9_-]+|aws_[a-z0-9_]+\.[A-Za-z0-9_-]+|var\.[a-z_]+|local\.[A-Za-z0-9_-]+)/g) ??
        [],
    );
    expect(references.length).toBeGreaterThan(20);
    const dangling = [...new Set(references)].filter((reference) => !declared.has(reference));
    expect(dangling).toEqual([]);
    expect(moduleText).not.toMatch(/\bmodule\.[a-z]/);
  });

  test('THEN the outputs users wire next refer to resources of the module', () => {
    const outputs = moduleJson.output as Record<string, { value: string }>;
    expect(Object.keys(outputs).sort()).toEqual([
      'forwarding_interface_id',
      'instance_id',
      'public_ip',
      'public_ips',
      'role_name',
      'security_group_id',
    ]);
    const declared = declaredAddresses(moduleJson);
    for (const [name, output] of Object.entries(outputs)) {
      const targets = output.value.match(/aws_[a-z0-9_]+\.[A-Za-z0-9_-]+/g) ?? [];
      expect({ name, targets: targets.length > 0 && targets.every((target) => declared.has(target)) }).toEqual({ name, targets: true });
    }
  });

  test('THEN it creates the same kinds of resources as the concrete dual-mode NATs with a created and with an owned Elastic IP', () => {
    const concrete = (props: Partial<ConstructorParameters<typeof NatInstance>[2]>) =>
      synthesize(
        (stack) =>
          new NatInstance(stack, 'nat', {
            vpcId: 'vpc-1',
            mode: 'dual',
            publicSubnet: { id: 'subnet-0b1', cidrBlock: '10.8.0.0/24' },
            privateSubnets: [{ id: 'subnet-a', cidrBlock: '10.8.1.0/24' }],
            routeTableIds: ['rtb-1'],
            ...props,
          }),
      ).json;
    const kinds = new Set([...resourceTypes(concrete({})), ...resourceTypes(concrete({ elasticIpAllocationIds: ['eipalloc-0123abcd'] }))]);
    expect(resourceTypes(moduleJson)).toEqual([...kinds].sort());
  });

  test('THEN optional parts are counted by their variables: forwarding interface by mode, routes by list length', () => {
    const first = (type: string) => Object.values<any>(moduleJson.resource[type])[0];
    expect(first('aws_network_interface').count).toBe('${(var.mode == "dual") ? 1 : 0}');
    expect(first('aws_network_interface_attachment').count).toBe('${(var.mode == "dual") ? 1 : 0}');
    expect(first('aws_route').count).toBe('${length(var.route_table_ids)}');
    expect(first('aws_instance').metadata_options.http_tokens).toBe('required');
  });
});

describe('nat-module public addresses, counted by terraform console for sample inputs', () => {
  const byDescription = (type: string, description: RegExp) =>
    Object.values<any>(moduleJson.resource[type]).find((block) => description.test(String(block.description ?? '')));
  const first = (type: string) => Object.values<any>(moduleJson.resource[type])[0];
  /** A count expression of the module, evaluated for the given inputs (public_ip_count null: unset). */
  const countOf = (block: { count: string }, elasticIp: boolean, ids: string[], publicIpCount: number | null) =>
    evaluateTerraformValue(block.count.replace(/var\.elastic_ip/g, String(elasticIp)), {
      variables: { eip_allocation_ids: ids, public_ip_count: { type: 'number', value: publicIpCount } },
    });
  const counts = (elasticIp: boolean, ids: string[], publicIpCount: number | null) => ({
    publicInterface: countOf(byDescription('aws_network_interface', /public interface/), elasticIp, ids, publicIpCount),
    created: countOf(first('aws_eip'), elasticIp, ids, publicIpCount),
    associated: countOf(first('aws_eip_association'), elasticIp, ids, publicIpCount),
  });

  test.each([
    [
      "the defaults: one created address on the instance's own interface",
      true,
      [],
      null,
      { publicInterface: 0, created: 1, associated: 0 },
    ],
    ['one owned address', true, ['eipalloc-0123abcd'], null, { publicInterface: 0, created: 0, associated: 1 }],
    [
      'two owned addresses (the count follows them)',
      true,
      ['eipalloc-0a', 'eipalloc-0b'],
      null,
      { publicInterface: 1, created: 0, associated: 2 },
    ],
    ['public_ip_count = 3 with one owned address', true, ['eipalloc-0a'], 3, { publicInterface: 1, created: 2, associated: 1 }],
    ['public_ip_count = 2', true, [], 2, { publicInterface: 1, created: 2, associated: 0 }],
    ['elastic_ip = false', false, [], null, { publicInterface: 0, created: 0, associated: 0 }],
  ] as const)('WHEN %s THEN the module creates the right interface and Elastic IPs', (_name, elasticIp, ids, publicIpCount, expected) => {
    expect(counts(elasticIp, [...ids], publicIpCount)).toEqual(expected);
  });

  test('THEN an owned address is only associated, by network interface, from the list in order', () => {
    const association = first('aws_eip_association');
    expect(association.allocation_id).toBe('${element(var.eip_allocation_ids, count.index)}');
    expect(association.network_interface_id).toMatch(/^\$\{aws_instance\.[\w-]+\.primary_network_interface_id\}$/);
    expect(association).not.toHaveProperty('instance_id');
  });

  test('THEN the instance attaches the public interface only when there is one, and leaves subnet and groups to it then', () => {
    const instance = first('aws_instance');
    expect(instance.dynamic.network_interface.for_each).toMatch(/^\$\{aws_network_interface\.[\w-]+\[\*\]\.id\}$/);
    for (const argument of ['subnet_id', 'vpc_security_group_ids', 'associate_public_ip_address', 'source_dest_check']) {
      expect({ argument, expression: instance[argument] }).toEqual({ argument, expression: expect.stringMatching(/>= 2\) \? null : /) });
    }
  });
});

describe('nat-module user data, evaluated by terraform console for sample inputs', () => {
  const privateCidrs = ['10.8.1.0/24', '10.8.2.0/24'];
  const additionalCidrs = ['172.16.0.0/16'];
  const moduleUserData = userDataOf(moduleJson, Object.values<any>(moduleJson.resource.aws_instance)[0]);

  /** The module's user data with its data-source lookups standing for the sample subnets. */
  function evaluateModuleUserData(mode: string, portForwards: unknown[] = []): string {
    return evaluateTerraformString(moduleUserData.replace(/data\.aws_subnet\.private_subnet\[\*\]\.cidr_block/g, 'var.private_cidrs'), {
      variables: {
        mode,
        private_cidrs: privateCidrs,
        additional_cidrs: additionalCidrs,
        port_forwards: portForwardsVariable(portForwards),
        eip_allocation_ids: [],
        public_ip_count: { type: 'number', value: null },
        // The concrete NAT's name and its metrics publisher (on by default).
        name: 'nat-instance',
        metrics: { type: 'bool', value: true },
      },
    });
  }

  function concreteUserData(mode: 'single' | 'dual', portForwards: PortForward[] = []): string {
    const json = synthesize(
      (stack) =>
        new NatInstance(stack, 'nat', {
          vpcId: 'vpc-1',
          mode,
          publicSubnet: { id: 'subnet-0b1', cidrBlock: '10.8.0.0/24' },
          privateSubnets: privateCidrs.map((cidrBlock, i) => ({ id: `subnet-${i}`, cidrBlock })),
          additionalCidrs,
          routeTableIds: ['rtb-1'],
          portForwards,
        }),
    ).json;
    return evaluateTerraformString(userDataOf(json, Object.values<any>(json.resource.aws_instance)[0]));
  }

  test.each(['dual', 'single'] as const)(
    'WHEN mode is %s THEN it matches the concrete rendering apart from the mode-switch comment',
    (mode) => {
      const fromModule = evaluateModuleUserData(mode).replace(/^\s*# single mode: no forwarding subnet\n/m, '');
      expect(fromModule).toEqual(concreteUserData(mode));
      expect(fromModule).toContain(`NAT_PRIVATE_CIDRS=${[...privateCidrs, ...additionalCidrs].join(',')}`);
      expect(fromModule).not.toContain('NAT_PORT_FORWARD=');
    },
  );

  test.each(['dual', 'single'] as const)(
    'WHEN mode is %s with port forwards THEN the forward lines match the concrete rendering',
    (mode) => {
      const fromModule = evaluateModuleUserData(mode, SAMPLE_PORT_FORWARDS).replace(/^\s*# single mode: no forwarding subnet\n/m, '');
      expect(fromModule).toEqual(concreteUserData(mode, SAMPLE_FORWARDS));
      // The settings file is a YAML block: each line at the block's indentation, in the list's order.
      expect(fromModule).toContain(
        [
          '      NAT_ROUTE_MODE=terraform',
          '      NAT_PUBLIC_ADDRESS_COUNT=1',
          '      NAT_PORT_FORWARD=tcp 9999 10.8.1.10 22 preserve 203.0.113.7/32,198.51.100.0/24',
          '      NAT_PORT_FORWARD=udp 5353 10.8.2.20 53 masquerade 198.51.100.0/24',
          '  - path: ',
        ].join('\n'),
      );
    },
  );
});

describe('nat-module security group, evaluated by terraform console for sample inputs', () => {
  const privateCidrs = ['10.8.1.0/24', '10.8.2.0/24'];
  const additionalCidrs = ['172.16.0.0/16'];
  const clientGroups = ['sg-0abc'];

  /** The rule fields that decide what the group admits, in a stable order. */
  function admitted(rules: any[]) {
    return rules
      .map((rule) => ({
        description: rule.description,
        protocol: rule.protocol,
        from_port: rule.from_port,
        to_port: rule.to_port,
        cidr_blocks: rule.cidr_blocks ?? [],
        security_groups: rule.security_groups ?? [],
      }))
      .sort((a, b) => a.description.localeCompare(b.description));
  }

  /**
   * The module's ingress blocks as Terraform expands them: the fixed blocks, then the `dynamic`
   * block once per forward, its iterator (`<name>.value`, `<name>.key`) bound to the entry and index.
   */
  function moduleIngress(portForwards: unknown[], securityGroupIds: string[] = clientGroups): any[] {
    const group = Object.values<any>(moduleJson.resource.aws_security_group)[0];
    const values = {
      variables: {
        private_cidrs: privateCidrs,
        additional_cidrs: additionalCidrs,
        additional_security_group_ids: securityGroupIds,
        port_forwards: portForwardsVariable(portForwards),
      },
    };
    const evaluateBlock = (block: Record<string, unknown>, bind: (text: string) => string = (text) => text) =>
      Object.fromEntries(
        Object.entries(block).map(([name, value]) => [
          name,
          typeof value === 'string' && value.includes('${')
            ? evaluateTerraformValue(
                bind(value).replace(/data\.aws_subnet\.private_subnet\[\*\]\.cidr_block/g, 'var.private_cidrs'),
                values,
              )
            : value,
        ]),
      );
    type DynamicBlock = { for_each: string | Array<Record<string, unknown>>; iterator: string; content: Record<string, unknown> };
    const dynamicBlocks = group.dynamic.ingress as DynamicBlock[];
    // No `ingress` key: in .tf.json it would be read as the attribute form and shadow the dynamic blocks.
    expect(group.ingress).toBeUndefined();
    expect(dynamicBlocks.map((block) => block.for_each).slice(1)).toEqual([
      '${(length(var.additional_security_group_ids) >= 1) ? [var.additional_security_group_ids] : []}',
      '${var.port_forwards}',
    ]);
    // Each dynamic block once per element of its for_each, its iterator bound to that element's expression.
    const expanded = dynamicBlocks.flatMap((block) => {
      const elements: string[] = Array.isArray(block.for_each)
        ? block.for_each.map(hclObjectOf)
        : (evaluateTerraformValue(block.for_each, values) as unknown[]).map(
            (_element, i) => `(${String(block.for_each).slice(2, -1)})[${i}]`,
          );
      const iterator = new RegExp(`\\b${block.iterator}\\.(value|key)\\b`, 'g');
      return elements.map((element, i) =>
        evaluateBlock(block.content, (text) => text.replace(iterator, (_match, part) => (part === 'key' ? `${i}` : `(${element})`))),
      );
    });
    expect(portForwards.length).toBeLessThanOrEqual(expanded.length);
    return expanded;
  }

  /** An element of a literal for_each tuple as an HCL object expression (`"${x}"` strings become `x`). */
  function hclObjectOf(element: Record<string, unknown>): string {
    const valueOf = (value: unknown) =>
      typeof value === 'string' && /^\$\{[^]*\}$/.test(value) && !value.slice(2).includes('${')
        ? value.slice(2, -1)
        : JSON.stringify(value);
    return `{ ${Object.entries(element)
      .map(([name, value]) => `${name} = ${valueOf(value)}`)
      .join(', ')} }`;
  }

  function concreteIngress(portForwards: PortForward[]): any[] {
    const json = synthesize(
      (stack) =>
        new NatInstance(stack, 'nat', {
          vpcId: 'vpc-1',
          publicSubnet: { id: 'subnet-0b1', cidrBlock: '10.8.0.0/24' },
          privateSubnets: privateCidrs.map((cidrBlock, i) => ({ id: `subnet-${i}`, cidrBlock })),
          additionalCidrs,
          additionalSecurityGroupIds: clientGroups,
          routeTableIds: ['rtb-1'],
          portForwards,
        }),
    ).json;
    return Object.values<any>(json.resource.aws_security_group)[0].ingress;
  }

  test('WHEN port_forwards holds the sample forwards THEN the rules equal the concrete path: one per forward from its sources', () => {
    const fromModule = admitted(moduleIngress(SAMPLE_PORT_FORWARDS));
    expect(fromModule).toEqual(admitted(concreteIngress(SAMPLE_FORWARDS)));
    expect(fromModule).toContainEqual(
      expect.objectContaining({ protocol: 'udp', from_port: 5353, to_port: 5353, cidr_blocks: ['198.51.100.0/24'] }),
    );
    expect(fromModule).toContainEqual(
      expect.objectContaining({ protocol: 'tcp', from_port: 9999, to_port: 9999, cidr_blocks: ['203.0.113.7/32', '198.51.100.0/24'] }),
    );
  });

  test('WHEN additional_security_group_ids is empty (its default) THEN no rule without a source is emitted', () => {
    expect(admitted(moduleIngress([], [])).map((rule) => rule.description)).toEqual(['All traffic from NAT clients']);
  });

  test('WHEN port_forwards is empty THEN only the client rules remain, as on the concrete path', () => {
    const fromModule = admitted(moduleIngress([]));
    expect(fromModule).toEqual(admitted(concreteIngress([])));
    expect(fromModule.map((rule) => rule.description)).toEqual([
      'All traffic from NAT client security groups',
      'All traffic from NAT clients',
    ]);
  });
});
