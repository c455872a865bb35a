import { NAME_CHARACTERS } from '../shared/aws-rules';
import type { ValueRule } from '../shared/setting-rules';

/** What the NAT constructs append to `name` for the resources they create. */
export const NAME_SUFFIXES = {
  role: '',
  instanceProfile: '',
  routeClaimPolicy: '-route-claim',
  securityGroup: '-sg',
  rootVolumeTag: '-root',
  forwardingInterfaceTag: '-forwarding',
  publicInterfaceTag: '-public',
} as const;

/** AWS's length limit of every kind of name that `name` feeds, with the suffixes it gets there. */
const NAME_LIMITS = [
  { what: 'IAM role', limit: 64, suffixes: [NAME_SUFFIXES.role] },
  { what: 'IAM instance profile', limit: 128, suffixes: [NAME_SUFFIXES.instanceProfile] },
  { what: 'IAM policy', limit: 128, suffixes: [NAME_SUFFIXES.routeClaimPolicy] },
  { what: 'security group', limit: 255, suffixes: [NAME_SUFFIXES.securityGroup] },
  { what: 'tag value', limit: 256, suffixes: Object.values(NAME_SUFFIXES) },
];

/** The longest `name` every resource accepts once its suffix is appended (the IAM role's 64 today). */
export const NAME_MAX_LENGTH = Math.min(...NAME_LIMITS.flatMap(({ limit, suffixes }) => suffixes.map((suffix) => limit - suffix.length)));

/**
 * `name`: characters both IAM and security-group names accept, short enough for every resource,
 * and not starting with `sg-` (which security-group names may not).
 */
export const NAME_RULES: ValueRule[] = [
  {
    kind: 'pattern',
    pattern: `^[${NAME_CHARACTERS}]{1,${NAME_MAX_LENGTH}}$`,
    shape: `1 to ${NAME_MAX_LENGTH} ASCII letters, digits or _+=,.@- (it names IAM roles and policies and a security group)`,
  },
  { kind: 'notPattern', pattern: '^[sS][gG]-', shape: 'start with sg- (security-group names may not)' },
];
