/**
 * Dependency resolution between addons (`spec.pkgDeps`), pure: the reconciler passes a lookup over
 * the Addons the API server holds (its informer cache, indexed by pkgName), never a cache of what
 * this process happened to reconcile, so the answer is the same after a restart.
 *
 * Every dependency is checked (upstream stopped at the first satisfied one), the whole graph is
 * walked for cycles, and the result names what blocks.
 */
import semver from 'semver';

/** What resolution needs to know about one Addon. */
export interface AddonNode {
  namespace: string;
  name: string;
  pkgName: string;
  pkgVersion: string;
  /** `status.lifecycle.installed` of its current spec (undefined when it has none yet). */
  installed: string | undefined;
  /** True when `status.checksum` belongs to the current spec (a Succeeded of an old spec does not count). */
  current: boolean;
  deps: Record<string, string>;
}

export type BlockReason = 'NotFound' | 'NoMatchingVersion' | 'NotSucceeded';

export interface Blocker {
  pkgName: string;
  requirement: string;
  reason: BlockReason;
  message: string;
}

export type Resolution =
  | { state: 'Met' }
  /** Dependencies exist but are not Succeeded yet: wait (upstream phase Pending). */
  | { state: 'Waiting'; blockers: Blocker[] }
  /** A dependency is absent or no version matches (upstream phase "Validation Failed"). */
  | { state: 'Missing'; blockers: Blocker[] }
  | { state: 'Cycle'; cycle: string[] }
  | { state: 'Invalid'; message: string };

export type Lookup = (pkgName: string) => AddonNode[];

const strip = (v: string) => v.trim().replace(/^v(?=\d)/, '');

/**
 * Does `version` meet `requirement`? `*` matches anything; an exact string (with or without a
 * leading `v`) matches itself; otherwise the requirement is a semver range in Masterminds' syntax
 * (commas mean AND, `v` prefixes allowed), as upstream accepted. Returns an Error for a requirement
 * that is neither.
 */
export function versionSatisfies(version: string, requirement: string): boolean | Error {
  const req = requirement.trim();
  if (req === '*' || req === '') return true;
  if (strip(req) === strip(version)) return true;
  const exact = semver.valid(strip(req), { loose: true });
  const have = semver.valid(strip(version), { loose: true }) ?? semver.coerce(version)?.version;
  if (exact) return have ? semver.eq(have, exact, { loose: true }) : false;
  const range = req
    .split('||')
    .map((part) =>
      part
        .split(',')
        .map((c) => c.trim().replace(/^([<>=~^!]*)\s*v(?=\d)/, '$1'))
        .join(' '),
    )
    .join(' || ');
  if (semver.validRange(range, { loose: true }) === null) {
    return new Error(`"${requirement}" is neither a version nor a semver range`);
  }
  if (!have) return false;
  return semver.satisfies(have, range, { loose: true, includePrerelease: true });
}

/** Finds a cycle reachable from `start` in the pkgName graph, as a path that ends where it starts. */
export function findCycle(start: AddonNode, lookup: Lookup): string[] | undefined {
  const onPath: string[] = [];
  const done = new Set<string>();
  const depsOf = (pkgName: string): string[] =>
    pkgName === start.pkgName && start.deps
      ? [...new Set([...Object.keys(start.deps), ...lookup(pkgName).flatMap((a) => Object.keys(a.deps))])]
      : [...new Set(lookup(pkgName).flatMap((a) => Object.keys(a.deps)))];
  // Iterative DFS: a chain of hundreds of addons must not exhaust the stack (upstream panicked at 256).
  const stack: { pkg: string; next: string[] }[] = [{ pkg: start.pkgName, next: depsOf(start.pkgName) }];
  onPath.push(start.pkgName);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const dep = top.next.shift();
    if (dep === undefined) {
      stack.pop();
      onPath.pop();
      done.add(top.pkg);
      continue;
    }
    const at = onPath.indexOf(dep);
    if (at >= 0) return [...onPath.slice(at), dep];
    if (done.has(dep)) continue;
    onPath.push(dep);
    stack.push({ pkg: dep, next: depsOf(dep) });
  }
  return undefined;
}

/** Checks every dependency of `addon`; see {@link Resolution}. */
export function resolveDependencies(addon: AddonNode, lookup: Lookup): Resolution {
  const deps = Object.entries(addon.deps);
  if (deps.length === 0) return { state: 'Met' };
  const cycle = findCycle(addon, lookup);
  if (cycle) return { state: 'Cycle', cycle };
  const missing: Blocker[] = [];
  const waiting: Blocker[] = [];
  for (const [pkgName, requirement] of deps.sort(([a], [b]) => a.localeCompare(b))) {
    const candidates = lookup(pkgName);
    if (candidates.length === 0) {
      missing.push({ pkgName, requirement, reason: 'NotFound', message: `${pkgName} is not installed` });
      continue;
    }
    const matching: AddonNode[] = [];
    for (const c of candidates) {
      const ok = versionSatisfies(c.pkgVersion, requirement);
      if (ok instanceof Error)
        return { state: 'Invalid', message: `spec.pkgDeps["${pkgName}"]: ${ok.message}` };
      if (ok) matching.push(c);
    }
    if (matching.length === 0) {
      const have = candidates.map((c) => c.pkgVersion).join(', ');
      missing.push({
        pkgName,
        requirement,
        reason: 'NoMatchingVersion',
        message: `${pkgName} ${requirement} is not installed (found ${have})`,
      });
      continue;
    }
    if (!matching.some((c) => c.current && c.installed === 'Succeeded')) {
      const states = matching.map((c) => `${c.namespace}/${c.name}: ${c.installed ?? 'Pending'}`).join(', ');
      waiting.push({
        pkgName,
        requirement,
        reason: 'NotSucceeded',
        message: `${pkgName} ${requirement} has not succeeded yet (${states})`,
      });
    }
  }
  if (missing.length > 0) return { state: 'Missing', blockers: [...missing, ...waiting] };
  if (waiting.length > 0) return { state: 'Waiting', blockers: waiting };
  return { state: 'Met' };
}
