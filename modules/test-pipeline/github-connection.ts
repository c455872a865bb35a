import { Construct } from 'constructs';
import { CodestarconnectionsConnection } from '@cdktf/provider-aws/lib/codestarconnections-connection';

export interface GitHubConnectionProps {
  /** Connection name, at most 32 characters. */
  readonly name: string;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * A CodeConnections (formerly CodeStar Connections) link to GitHub. AWS creates it PENDING:
 * someone must complete the handshake once in the console (Developer Tools → Settings →
 * Connections → Update pending connection) before the pipeline's Source stage can run.
 */
export class GitHubConnection extends Construct {
  public readonly connectionArn: string;

  constructor(scope: Construct, id: string, props: GitHubConnectionProps) {
    super(scope, id);
    if (props.name.length < 1 || props.name.length > 32) {
      throw new Error(`'name' of the GitHub connection must be 1-32 characters, got '${props.name}'`);
    }
    const connection = new CodestarconnectionsConnection(this, 'connection', {
      name: props.name,
      providerType: 'GitHub',
      tags: props.tags,
    });
    this.connectionArn = connection.arn;
  }
}
