import { readFileSync } from 'fs';
import { join } from 'path';
import { Construct } from 'constructs';
import { Token } from 'cdktf';
import { SsmDocument } from '@cdktf/provider-aws/lib/ssm-document';
import { escapeForTerraform } from '../shared/terraform-expressions';

/** The document name the connectivity check runs (the name the original test pipeline used). */
export const CONNECTIVITY_DOCUMENT_NAME = 'TestInternetConnectivity';

/** A plain-text what-is-my-IP service reachable over HTTPS. */
export const DEFAULT_CHECK_URL = 'https://checkip.amazonaws.com';

export const DEFAULT_CHECK_TIMEOUT_SECONDS = 20;

/** A dotted-quad IPv4 address (each octet 0-255, no leading zeros) or the empty string. */
export const EXPECTED_IP_PATTERN = '^$|^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$';

/** http(s), a host name or address, an optional port and a plain path: nothing a shell could read as syntax. */
export const CHECK_URL_PATTERN = '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$';

/** The longest check a caller may ask for. */
export const MAX_CHECK_TIMEOUT_SECONDS = 300;

/** 1 to MAX_CHECK_TIMEOUT_SECONDS (300) seconds. */
export const TIMEOUT_SECONDS_PATTERN = '^([1-9]|[1-9][0-9]|[12][0-9]{2}|300)$';

/** The shell that runs on the instance; the only copy of the check's commands. */
export function readConnectivityScript(): string {
  return readFileSync(join(__dirname, 'check-internet-connectivity.sh'), 'utf8');
}

export interface ConnectivityDocumentOptions {
  /**
   * The what-is-my-IP service; it must answer with the caller's address as plain text.
   * @default DEFAULT_CHECK_URL
   */
  readonly checkUrl?: string;
  /**
   * Seconds the check may take before it counts as "no answer".
   * @default DEFAULT_CHECK_TIMEOUT_SECONDS
   */
  readonly timeoutSeconds?: number;
}

export interface ConnectivityDocumentProps extends ConnectivityDocumentOptions {
  /**
   * Document name (unique per account and region).
   * @default CONNECTIVITY_DOCUMENT_NAME
   */
  readonly name?: string;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * The Command document (schema 2.2) as SSM receives it, before Terraform escaping. Every
 * parameter uses `interpolationType: ENV_VAR` and the commands never contain `{{ }}`, so a
 * value reaches the shell only as the variable `SSM_<name>`; `allowedPattern` is checked by SSM
 * on SendCommand as a second fence.
 */
export function connectivityDocumentContent(options: ConnectivityDocumentOptions = {}, script = readConnectivityScript()) {
  const checkUrl = options.checkUrl ?? DEFAULT_CHECK_URL;
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS;
  validateConnectivityOptions(checkUrl, timeoutSeconds);
  return {
    schemaVersion: '2.2',
    description: 'Checks that this instance reaches the internet and that its traffic leaves with the expected public IP (the NAT).',
    parameters: {
      expectedIp: {
        type: 'String',
        description: 'The public IPv4 address egress must leave with; empty only reports the observed address.',
        default: '',
        allowedPattern: EXPECTED_IP_PATTERN,
        interpolationType: 'ENV_VAR',
      },
      checkUrl: {
        type: 'String',
        description: "A service that answers with the caller's public IP as plain text.",
        default: checkUrl,
        allowedPattern: CHECK_URL_PATTERN,
        interpolationType: 'ENV_VAR',
      },
      timeoutSeconds: {
        type: 'String',
        description: 'Seconds (1-300) before the check counts as no answer.',
        default: String(timeoutSeconds),
        allowedPattern: TIMEOUT_SECONDS_PATTERN,
        interpolationType: 'ENV_VAR',
      },
    },
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: 'checkEgressIp',
        precondition: { StringEquals: ['platformType', 'Linux'] },
        // The step outlives the longest allowed check, so the check always reports its own timeout.
        inputs: { timeoutSeconds: String(MAX_CHECK_TIMEOUT_SECONDS + 30), runCommand: script.split('\n') },
      },
    ],
  };
}

function validateConnectivityOptions(checkUrl: string, timeoutSeconds: number): void {
  if (!Token.isUnresolved(checkUrl) && !new RegExp(CHECK_URL_PATTERN).test(checkUrl)) {
    throw new Error(`'checkUrl' must be an http(s) URL with a plain host and path (${CHECK_URL_PATTERN}), got '${checkUrl}'`);
  }
  if (!Number.isInteger(timeoutSeconds) || !new RegExp(TIMEOUT_SECONDS_PATTERN).test(String(timeoutSeconds))) {
    throw new Error(`'timeoutSeconds' must be a whole number from 1 to 300, got ${timeoutSeconds}`);
  }
}

/**
 * The SSM Command document `TestInternetConnectivity`: run on the private test instances, it
 * fails unless their internet traffic leaves with `expectedIp` (the NAT's public IP).
 */
export class ConnectivityDocument extends Construct {
  public readonly document: SsmDocument;
  /** Pass this to SendCommand's `DocumentName`. */
  public readonly documentName: string;
  public readonly documentArn: string;

  constructor(scope: Construct, id: string, props: ConnectivityDocumentProps = {}) {
    super(scope, id);
    const name = props.name ?? CONNECTIVITY_DOCUMENT_NAME;
    if (!Token.isUnresolved(name) && (!/^[A-Za-z0-9_.-]{3,128}$/.test(name) || /^(aws|amazon)/i.test(name))) {
      throw new Error(`'name' must be 3-128 letters, digits, '_', '-' or '.' and not start with AWS or Amazon, got '${name}'`);
    }
    const content = connectivityDocumentContent(props);
    this.document = new SsmDocument(this, 'document', {
      name,
      documentType: 'Command',
      documentFormat: 'JSON',
      targetType: '/AWS::EC2::Instance',
      // Terraform would evaluate the script's own ${...}: escape them so they reach SSM verbatim.
      content: escapeForTerraform(JSON.stringify(content, null, 2)),
      tags: props.tags,
    });
    this.documentName = this.document.name;
    this.documentArn = this.document.arn;
  }
}
