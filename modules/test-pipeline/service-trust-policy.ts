/**
 * A role trust policy for an AWS service, limited to calls made on behalf of this account
 * (`aws:SourceAccount`), so another account's pipeline or project cannot use the role (confused deputy).
 */
export function serviceTrustPolicy(service: string, accountId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: service },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
      },
    ],
  });
}
