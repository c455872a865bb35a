import { Construct } from 'constructs';
import { Token } from 'cdktf';
import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter';

export type Architecture = 'arm64' | 'x86_64';

/**
 * Graviton families carry a `g` right after the generation digit (`t4g`, `c7gn`, `m6gd`), plus `a1`.
 * A regular expression in a form that Terraform's `regex()` also accepts (`[.]` needs no escaping).
 */
export const GRAVITON_INSTANCE_TYPE = '^(a1|[a-z]+[0-9]+g[a-z]*)[.]';

/** The architecture of an instance type, or undefined for a token (it cannot be inspected at synth). */
export function architectureOf(instanceType: string): Architecture | undefined {
  if (Token.isUnresolved(instanceType)) return undefined;
  return new RegExp(GRAVITON_INSTANCE_TYPE).test(instanceType) ? 'arm64' : 'x86_64';
}

/** The public SSM parameter that always names the latest Amazon Linux 2023 AMI for an architecture. */
export function al2023ParameterName(architecture: Architecture): string {
  return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture}`;
}

/** Looks up the latest Amazon Linux 2023 AMI ID at plan time. */
export function latestAl2023AmiId(scope: Construct, id: string, architecture: Architecture): string {
  return new DataAwsSsmParameter(scope, id, { name: al2023ParameterName(architecture) }).insecureValue;
}
