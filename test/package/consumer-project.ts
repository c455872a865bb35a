/**
 * Test support for the consumer test: the library packed by `npm pack`, and a fresh cdktf project
 * in a temporary directory that installs the tarball offline, as a user's CI would.
 *
 * Offline, npm installs only what its cache holds. This repository's `npm ci` leaves the registry
 * tarballs of cdktf, constructs, @cdktf/provider-aws and TypeScript in the cache, but not the
 * registry's package documents that npm needs to pick a version for a range; so the project gets a
 * package-lock.json made of exactly this repository's locked entries for those packages (npm takes
 * them from the cache by integrity) plus the packed tarball by path and integrity.
 */
import { execFileSync, spawnSync } from 'child_process';
import { chownSync, cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { REPO_ROOT } from '../../scripts/validate/synth-app';

export interface PackedFile {
  readonly path: string;
}

export interface PackResult {
  readonly filename: string;
  readonly integrity: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: PackedFile[];
}

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly main?: string;
  readonly types?: string;
  readonly exports?: Record<string, unknown>;
  readonly files?: string[];
  readonly peerDependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
}

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly [key: string]: unknown;
}

interface Lockfile {
  readonly packages: Record<string, LockEntry>;
}

export function repoPackageJson(): PackageJson {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** The user whose `npm ci` filled the npm cache when the suite runs as `sudo npm test`. */
interface InvokingUser {
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly name: string;
}

/**
 * Under `sudo npm test` (the README's suite command) root's npm cache is not the one `npm ci`
 * filled: the consumer project is then installed and run as the user sudo was called by.
 */
export function invokingUser(): InvokingUser | undefined {
  const uid = Number(process.env.SUDO_UID);
  if (process.getuid?.() !== 0 || !Number.isInteger(uid) || uid <= 0) return undefined;
  const entry = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8' })
    .trim()
    .split(':');
  return { uid, gid: Number(process.env.SUDO_GID ?? entry[3]), home: entry[5], name: entry[0] };
}

/**
 * The environment of the consumer's commands: no `npm_*` variables of this repository's own npm
 * run (its package, its prefix), except the cache setting when the same user runs both.
 */
function consumerEnvironment(user: InvokingUser | undefined, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('npm_') || (key === 'npm_config_cache' && user === undefined)),
  );
  const identity = user ? { HOME: user.home, USER: user.name, LOGNAME: user.name } : {};
  return { ...env, ...identity, ...extra };
}

/** Runs a command in the consumer project (as the invoking user under sudo); throws with its output on failure. */
export function runInConsumer(project: ConsumerProject, command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): CommandResult {
  const user = project.user;
  const result = spawnSync(command, args, {
    cwd: project.dir,
    env: consumerEnvironment(user, extraEnv),
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status} in ${project.dir}:\n${result.stderr}\n${result.stdout.slice(-4000)}`,
    );
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

/** `npm pack --json` in the repository (its prepack builds dist/), the tarball written to `destination`. */
export function packLibrary(destination: string, extraArgs: string[] = []): PackResult {
  const stdout = execFileSync('npm', ['pack', '--json', '--pack-destination', destination, ...extraArgs], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 600_000,
  });
  const [result] = JSON.parse(stdout) as PackResult[];
  return result;
}

/** Where Node would find `name` from the package at lock path `from` (its own node_modules, then its parents'). */
function lockPathOf(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (dir === '') return undefined;
    const parent = dir.lastIndexOf('/node_modules/');
    dir = parent < 0 ? '' : dir.slice(0, parent);
  }
}

/**
 * This repository's lock entries for `names` and everything they need (dependencies, bundled
 * dependencies, required peers), without the dev flags of this repository's tree.
 */
export function lockedClosure(lock: Lockfile, names: string[]): Record<string, LockEntry> {
  const selected: Record<string, LockEntry> = {};
  const visit = (path: string): void => {
    if (selected[path]) return;
    const { dev: _dev, devOptional: _devOptional, ...entry } = lock.packages[path];
    selected[path] = entry;
    const optional = {
      ...entry.optionalDependencies,
      ...Object.fromEntries(Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, meta]) => meta.optional)),
    };
    for (const dependency of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
      const found = lockPathOf(lock.packages, path, dependency);
      if (found) visit(found);
      else if (!(dependency in optional)) throw new Error(`package-lock.json: ${path} needs ${dependency}, which is not locked`);
    }
  };
  for (const name of names) {
    if (!lock.packages[`node_modules/${name}`]) throw new Error(`package-lock.json has no node_modules/${name}: run npm ci`);
    visit(`node_modules/${name}`);
  }
  return selected;
}

export interface ConsumerProject {
  readonly dir: string;
  readonly user: InvokingUser | undefined;
  readonly packageJson: Record<string, unknown>;
}

/** The consumer's build tool besides the library's peers: TypeScript, at this repository's locked version. */
const CONSUMER_DEV_DEPENDENCIES = ['typescript'];

/**
 * A fresh project in a temporary directory: the fixture's files (main.ts, cdktf.json, tsconfig.json…),
 * a package.json depending on the tarball and on the peers at this repository's locked versions,
 * and the package-lock.json described above. Owned by the invoking user under sudo.
 */
export function createConsumerProject(fixture: string, tarballDir: string, pack: PackResult): ConsumerProject {
  const library = repoPackageJson();
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  const dir = mkdtempSync(join(tmpdir(), 'nat-consumer-'));
  cpSync(fixture, dir, { recursive: true });
  cpSync(join(tarballDir, pack.filename), join(dir, pack.filename));
  const peers = Object.keys(library.peerDependencies ?? {});
  const versionOf = (name: string) => lock.packages[`node_modules/${name}`]?.version ?? '';
  const tarballSpec = `file:${pack.filename}`;
  const dependencies = { [library.name]: tarballSpec, ...Object.fromEntries(peers.map((name) => [name, versionOf(name)])) };
  const devDependencies = Object.fromEntries(CONSUMER_DEV_DEPENDENCIES.map((name) => [name, versionOf(name)]));
  const packageJson = { name: 'nat-instance-consumer', version: '1.0.0', private: true, dependencies, devDependencies };
  const locked = lockedClosure(lock, [...peers, ...CONSUMER_DEV_DEPENDENCIES]);
  for (const name of CONSUMER_DEV_DEPENDENCIES) locked[`node_modules/${name}`] = { ...locked[`node_modules/${name}`], dev: true };
  const packageLock = {
    name: packageJson.name,
    version: packageJson.version,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: packageJson.name, version: packageJson.version, dependencies, devDependencies },
      [`node_modules/${library.name}`]: {
        version: library.version,
        resolved: tarballSpec,
        integrity: pack.integrity,
        license: library.license,
        peerDependencies: library.peerDependencies,
      },
      ...locked,
    },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(packageLock, null, 2)}\n`);
  const user = invokingUser();
  if (user) chownTree(dir, user.uid, user.gid);
  return { dir, user, packageJson };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}
