/**
 * The examples and their expected final states. `examples/<tool>/*.yaml` are Kubernetes manifests,
 * applied in name order; `*.aws.yaml` are AWS fixtures (./fixtures.ts). What gets checked for
 * convergence:
 *
 * - every applied object of a kind the sandbox installed (a custom resource), and every other object
 *   that carries `sandbox.keiko.dev/expect`, against its expectation (./expect.ts);
 * - every fixture group that states `expect`, against DescribeAutoScalingGroups;
 * - every `mode: once` app (governor): it must have exited 0.
 */
import { readFileSync } from 'node:fs';
import type { AwsClients } from '@keiko/aws-kit';
import { ApiError, type Manifest, parseManifests, rawRequest, resourceFor } from '@keiko/testkit';
import { type Clause, check, describeRef, EXPECT_ANNOTATION, expectationOf } from './expect.js';
import { describeGroups, type FixtureGroup } from './fixtures.js';

type KubeConfig = Parameters<typeof resourceFor>[0];

export interface ExampleObject {
  file: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  expect: Clause[] | undefined;
}

export interface ExampleState {
  /** `Kind namespace/name`, or `AutoScalingGroup name`, or `app name`. */
  name: string;
  /** The expectation as written, or the default. */
  expected: string;
  ok: boolean;
  /** What is still missing, when not ok. */
  why: string;
}

export function readManifests(file: string): Manifest[] {
  return parseManifests(readFileSync(file, 'utf8'));
}

/** The applied objects whose state counts for convergence. Throws on an expectation that does not parse. */
export function objectsToCheck(
  applied: { file: string; manifest: Manifest }[],
  customKinds: ReadonlySet<string>,
): ExampleObject[] {
  const annotations = (m: Manifest) => (m.metadata.annotations ?? {}) as Record<string, string>;
  return applied
    .filter(
      ({ manifest: m }) =>
        customKinds.has(`${m.apiVersion}/${m.kind}`) || annotations(m)[EXPECT_ANNOTATION] !== undefined,
    )
    .map(({ file, manifest: m }) => {
      let expect: Clause[] | undefined;
      try {
        expect = expectationOf({ metadata: { annotations: annotations(m) } });
      } catch (err) {
        throw new Error(`${file}: ${err instanceof Error ? err.message : err}`);
      }
      return {
        file,
        apiVersion: m.apiVersion,
        kind: m.kind,
        namespace: m.metadata.namespace,
        name: m.metadata.name,
        expect,
      };
    });
}

const written = (clauses: Clause[] | undefined) =>
  clauses ? clauses.map((c) => `${c.path}${c.op}${c.value}`).join('; ') : 'Ready=True';

/** Reads one example object from the API (undefined when it does not exist). */
export async function readObject(
  kc: KubeConfig,
  o: ExampleObject,
): Promise<Record<string, unknown> | undefined> {
  const resource = await resourceFor(kc, o.apiVersion, o.kind);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = resource.namespaced ? `/namespaces/${o.namespace ?? 'default'}` : '';
  try {
    return (await rawRequest(kc, 'GET', `${base}${ns}/${resource.name}/${o.name}`)) as Record<
      string,
      unknown
    >;
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

/** Each example's state now. */
export async function exampleStates(
  kc: KubeConfig,
  objects: readonly ExampleObject[],
  groups: readonly FixtureGroup[],
  aws: AwsClients | undefined,
  onceApps: readonly { name: string; exit: number | null | undefined }[],
): Promise<ExampleState[]> {
  const states: ExampleState[] = [];
  for (const o of objects) {
    const obj = await readObject(kc, o).catch(() => undefined);
    states.push({ name: describeRef(o), expected: written(o.expect), ...check(obj as never, o.expect) });
  }
  const expecting = groups.filter((g) => g.expect);
  const described = aws
    ? await describeGroups(
        aws,
        expecting.map((g) => g.name),
      ).catch(() => new Map())
    : new Map();
  for (const g of expecting) {
    states.push({
      name: `AutoScalingGroup ${g.name}`,
      expected: written(g.expect),
      ...check(described.get(g.name), g.expect),
    });
  }
  for (const app of onceApps) {
    states.push({
      name: `${app.name} (run once)`,
      expected: 'exit 0',
      ok: app.exit === 0,
      why: app.exit === undefined ? 'running' : `exited ${app.exit}`,
    });
  }
  return states;
}
