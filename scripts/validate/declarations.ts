import { isObject, JsonValue } from './terraform-json';

/** Everything a stack declares that an expression may refer to. */
export interface StackDeclarations {
  /** `type.name` of every managed resource. */
  readonly resources: ReadonlySet<string>;
  /** `type.name` of every data source (referenced as `data.type.name`). */
  readonly dataSources: ReadonlySet<string>;
  readonly variables: ReadonlySet<string>;
  readonly locals: ReadonlySet<string>;
  readonly modules: ReadonlySet<string>;
  /** Resource types declared (to tell `aws_vpc.typo` from a stray root such as a shell `HOME`). */
  readonly resourceTypes: ReadonlySet<string>;
}

function typedNames(section: JsonValue | undefined): Set<string> {
  const names = new Set<string>();
  if (!isObject(section)) return names;
  for (const [type, instances] of Object.entries(section)) {
    if (!isObject(instances)) continue;
    for (const name of Object.keys(instances)) names.add(`${type}.${name}`);
  }
  return names;
}

function names(section: JsonValue | undefined): Set<string> {
  if (Array.isArray(section)) return new Set(section.flatMap((entry) => (isObject(entry) ? Object.keys(entry) : [])));
  return new Set(isObject(section) ? Object.keys(section) : []);
}

export function collectDeclarations(doc: JsonValue): StackDeclarations {
  const root = isObject(doc) ? doc : {};
  const resources = typedNames(root.resource);
  return {
    resources,
    dataSources: typedNames(root.data),
    variables: names(root.variable),
    locals: names(root.locals),
    modules: names(root.module),
    resourceTypes: new Set([...resources].map((address) => address.split('.')[0])),
  };
}

/** Number of resource and data blocks, for the summary line. */
export function countBlocks(doc: JsonValue): number {
  const root = isObject(doc) ? doc : {};
  return typedNames(root.resource).size + typedNames(root.data).size;
}
