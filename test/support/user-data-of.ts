/**
 * Test support shared by the unit and lab suites: the `#cloud-config` text of an instance in a
 * synthesized `cdk.tf.json`, exactly as Terraform is given it — plain `user_data`, or the local
 * that `user_data_base64 = base64gzip(local.…)` compresses (how NatInstance ships it).
 */
export interface InstanceBlock {
  readonly user_data?: string;
  readonly user_data_base64?: string;
}

const GZIPPED_LOCAL = /^\$\{base64gzip\(local\.([\w-]+)\)\}$/;

export function userDataOf(json: { locals?: Record<string, unknown> }, instance: InstanceBlock): string {
  if (typeof instance.user_data === 'string') return instance.user_data;
  const local = GZIPPED_LOCAL.exec(instance.user_data_base64 ?? '')?.[1];
  const text = local === undefined ? undefined : json.locals?.[local];
  if (typeof text !== 'string') {
    throw new Error(
      `the instance has neither user_data nor user_data_base64 = base64gzip(local.…): ${JSON.stringify(instance).slice(0, 200)}`,
    );
  }
  return text;
}
