/**
 * The SSM Agent version the connectivity document needs: its parameters use
 * `interpolationType: ENV_VAR` (modules/connectivity/connectivity-document.ts), which agents
 * before 3.3.2746.0 do not support — they would run the commands without the `SSM_…` variables.
 */
export const MINIMUM_SSM_AGENT_VERSION = '3.3.2746.0';

/** The numeric components of a dotted version (`3.3.2746.0` → [3, 3, 2746, 0]), or undefined when it is not one. */
export function versionComponents(version: string): number[] | undefined {
  return /^\d+(\.\d+)*$/.test(version) ? version.split('.').map(Number) : undefined;
}

/**
 * Compares dotted versions component by component, numerically (3.3.10000.0 > 3.3.2746.0),
 * missing components counting as 0: negative, zero or positive like a sort comparator.
 */
export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Whether an agent reporting `agentVersion` can run the connectivity document (an absent or unreadable version cannot be trusted). */
export function agentSupportsEnvVarInterpolation(agentVersion: string | undefined): boolean {
  const components = agentVersion === undefined ? undefined : versionComponents(agentVersion);
  return components !== undefined && compareVersions(components, versionComponents(MINIMUM_SSM_AGENT_VERSION)!) >= 0;
}
