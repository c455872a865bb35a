import { Construct } from 'constructs';
import { Token } from 'cdktf';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';

export interface SecureBucketProps {
  /**
   * Start of the bucket name; S3 appends a unique suffix (`bucket_prefix`), so no random provider is needed.
   * At most 37 characters: lower-case letters, digits, '-' and '.'.
   */
  readonly namePrefix: string;
  /**
   * Days after which current objects expire; undefined keeps them (Terraform state must outlive builds).
   * @default undefined
   */
  readonly expirationDays?: number;
  /**
   * Days after which replaced (noncurrent) versions expire.
   * @default 30
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Let `terraform destroy` delete a bucket that still holds objects.
   * @default false
   */
  readonly forceDestroy?: boolean;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * A private S3 bucket with every protection on: versioning, SSE-S3 encryption (with S3 Bucket
 * Keys), all public access blocked, ACLs disabled, a policy that refuses requests without TLS,
 * and a lifecycle that removes old versions and abandoned multipart uploads.
 */
export class SecureBucket extends Construct {
  public readonly bucket: S3Bucket;
  public readonly bucketName: string;
  public readonly bucketArn: string;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    validateSecureBucketProps(props);
    this.bucket = new S3Bucket(this, 'bucket', {
      bucketPrefix: props.namePrefix,
      forceDestroy: props.forceDestroy ?? false,
      tags: props.tags,
    });
    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    new S3BucketVersioningA(this, 'versioning', {
      bucket: this.bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }],
    });
    const publicAccess = new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: this.bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: JSON.stringify(tlsOnlyBucketPolicy(this.bucket.arn)),
      // S3 rejects a policy change while the public access block is still being applied.
      dependsOn: [publicAccess],
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: this.bucket.id,
      rule: [
        {
          id: 'expire-old-data',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          expiration: props.expirationDays === undefined ? undefined : [{ days: props.expirationDays }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionExpirationDays ?? 30 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });
  }
}

/** Denies every S3 request on the bucket and its objects that does not use TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  };
}

function validateSecureBucketProps(props: SecureBucketProps): void {
  const prefix = props.namePrefix;
  if (!Token.isUnresolved(prefix) && !/^[a-z0-9][a-z0-9.-]{0,36}$/.test(prefix)) {
    throw new Error(`'namePrefix' must be 1-37 lower-case letters, digits, '-' or '.', starting with a letter or digit, got '${prefix}'`);
  }
  for (const [prop, value] of [
    ['expirationDays', props.expirationDays],
    ['noncurrentVersionExpirationDays', props.noncurrentVersionExpirationDays],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new Error(`'${prop}' must be a whole number of days of at least 1, got ${value}`);
    }
  }
}
