/** One problem found in a synthesized stack, printed as `stack address attribute: message`. */
export interface Finding {
  readonly stack: string;
  /** Terraform address of the block, e.g. `aws_instance.nat`, `data.aws_ami.al2023`, `output.ip`. */
  readonly address: string;
  /** Dotted attribute path inside the block (`-` when the finding is about the block itself). */
  readonly attribute: string;
  readonly message: string;
}

export function formatFinding(finding: Finding): string {
  return `${finding.stack} ${finding.address} ${finding.attribute || '-'}: ${finding.message}`;
}

/** Collects findings for one stack so checks only name the address, attribute and message. */
export class FindingSink {
  readonly findings: Finding[] = [];

  constructor(readonly stack: string) {}

  add(address: string, attribute: string, message: string): void {
    this.findings.push({ stack: this.stack, address, attribute, message });
  }
}
