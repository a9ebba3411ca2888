/** Pure logic, table-driven: spec hash, workflow names, dependency resolution, workflow building, health, config. */
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import type { Addon } from '../src/api/addon.js';
import { parseConfig } from '../src/config.js';
import {
  type AddonNode,
  findCycle,
  resolveDependencies,
  versionSatisfies,
} from '../src/lifecycle/dependencies.js';
import { canonicalJson, isUpstreamChecksum, specHash } from '../src/lifecycle/hash.js';
import { selectorMatches, workloadHealth } from '../src/lifecycle/health.js';
import { labelValue, runId, workflowName } from '../src/lifecycle/naming.js';
import {
  buildWorkflow,
  injectedParameters,
  labelManifests,
  parseTemplate,
  validateTemplates,
} from '../src/lifecycle/workflow.js';
import { addon } from './support.js';

describe('spec hash', () => {
  it('ignores key order and undefined, and changes with any value', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}',
    );
    expect(specHash({ a: 1, b: 2 })).toBe(specHash({ b: 2, a: 1 }));
    expect(specHash({ a: 1 })).not.toBe(specHash({ a: 2 }));
    expect(specHash({ a: [1, 2] })).not.toBe(specHash({ a: [2, 1] }));
    expect(specHash({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each([
    ['1a2b3c4d', true],
    ['ff', true],
    ['0123456789abcdef', false],
    ['', false],
    [undefined, false],
    ['XYZ', false],
  ])('isUpstreamChecksum(%p) = %p', (checksum, expected) => {
    expect(isUpstreamChecksum(checksum)).toBe(expected);
  });
});

describe('workflow names', () => {
  it.each([
    ['short', 'install', undefined, 'short-install-0123456789'],
    ['short', 'prereqs', 'pfx', 'short-pfx-prereqs-0123456789'],
    ['dotted.name', 'delete', undefined, 'dotted-name-delete-0123456789'],
  ])('workflowName(%p, %p, prefix %p) = %p', (name, step, prefix, expected) => {
    expect(workflowName(name, step as 'install', '0123456789', prefix)).toBe(expected);
  });

  it('long addon names (no 31-character cap) give distinct names of at most 63 characters', () => {
    const a = `${'x'.repeat(100)}-alpha`;
    const b = `${'x'.repeat(100)}-beta`;
    const na = workflowName(a, 'install', '0123456789', 'abcdefghij');
    const nb = workflowName(b, 'install', '0123456789', 'abcdefghij');
    expect(na.length).toBeLessThanOrEqual(63);
    expect(nb.length).toBeLessThanOrEqual(63);
    expect(na).not.toBe(nb);
    expect(na).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('run ids differ per retry token and are stable', () => {
    expect(runId('0123456789abcdef', undefined)).toBe('0123456789');
    expect(runId('0123456789abcdef', '1')).toBe(runId('0123456789abcdef', '1'));
    expect(runId('0123456789abcdef', '1')).not.toBe(runId('0123456789abcdef', '2'));
    expect(labelValue('a'.repeat(80)).length).toBeLessThanOrEqual(63);
  });
});

describe('versionSatisfies', () => {
  it.each([
    ['v1.2.3', '*', true],
    ['v1.2.3', 'v1.2.3', true],
    ['v1.2.3', '1.2.3', true],
    ['v1.2.3', 'v1.2.4', false],
    ['v1.2.3', '>=v1.0.0', true],
    ['v1.2.3', '>= 1.0, < 1.2', false],
    ['v1.2.3', '>=v1.2.0, <v2', true],
    ['v1.2.3', '~1.2', true],
    ['v1.2.3', '^2.0.0', false],
    ['v1.2.3', '<1.0.0 || >=1.2.0', true],
    ['latest', 'latest', true],
    ['latest', '>=1.0.0', false],
  ])('%s meets %p: %p', (version, requirement, expected) => {
    expect(versionSatisfies(version, requirement)).toBe(expected);
  });

  it('a requirement that is neither version nor range is an error', () => {
    expect(versionSatisfies('v1', '>>>what')).toBeInstanceOf(Error);
  });
});

describe('resolveDependencies', () => {
  const node = (
    pkgName: string,
    pkgVersion: string,
    installed: string | undefined,
    deps: Record<string, string> = {},
  ): AddonNode => ({
    namespace: 'ns',
    name: `${pkgName}-${pkgVersion}`,
    pkgName,
    pkgVersion,
    installed,
    current: true,
    deps,
  });
  const lookupOf = (nodes: AddonNode[]) => (pkg: string) => nodes.filter((n) => n.pkgName === pkg);

  it.each([
    ['no dependencies', node('app', 'v1', undefined), [], 'Met'],
    [
      'a Succeeded dependency',
      node('app', 'v1', undefined, { dns: '*' }),
      [node('dns', 'v1', 'Succeeded')],
      'Met',
    ],
    ['a missing dependency', node('app', 'v1', undefined, { dns: '*' }), [], 'Missing'],
    [
      'no matching version',
      node('app', 'v1', undefined, { dns: '>=2' }),
      [node('dns', 'v1.0.0', 'Succeeded')],
      'Missing',
    ],
    [
      'a Pending dependency',
      node('app', 'v1', undefined, { dns: '*' }),
      [node('dns', 'v1', 'Pending')],
      'Waiting',
    ],
    [
      'every dependency is checked (the first satisfied one does not hide the second)',
      node('app', 'v1', undefined, { a: '*', b: '*' }),
      [node('a', 'v1', 'Succeeded'), node('b', 'v1', 'Failed')],
      'Waiting',
    ],
    [
      'a Succeeded of an old spec does not count',
      node('app', 'v1', undefined, { dns: '*' }),
      [{ ...node('dns', 'v1', 'Succeeded'), current: false }],
      'Waiting',
    ],
    [
      'an invalid requirement',
      node('app', 'v1', undefined, { dns: '>>>' }),
      [node('dns', 'v1', 'Succeeded')],
      'Invalid',
    ],
  ])('%s -> %s', (_what, subject, others, state) => {
    const all = [subject, ...others];
    expect(resolveDependencies(subject, lookupOf(all)).state).toBe(state);
  });

  it('names every blocker', () => {
    const subject = node('app', 'v1', undefined, { a: '*', b: '*' });
    const r = resolveDependencies(subject, lookupOf([subject, node('b', 'v2', 'Pending')]));
    expect(r).toEqual({
      state: 'Missing',
      blockers: [
        { pkgName: 'a', requirement: '*', reason: 'NotFound', message: 'a is not installed' },
        {
          pkgName: 'b',
          requirement: '*',
          reason: 'NotSucceeded',
          message: 'b * has not succeeded yet (ns/b-v2: Pending)',
        },
      ],
    });
  });

  it('finds cycles through the whole graph, and handles a 1000-long chain without recursion', () => {
    const a = node('a', 'v1', undefined, { b: '*' });
    const nodes = [a, node('b', 'v1', undefined, { c: '*' }), node('c', 'v1', undefined, { a: '*' })];
    expect(findCycle(a, lookupOf(nodes))).toEqual(['a', 'b', 'c', 'a']);
    const chain = Array.from({ length: 1000 }, (_, i) =>
      node(`p${i}`, 'v1', 'Succeeded', i + 1 < 1000 ? { [`p${i + 1}`]: '*' } : {}),
    );
    expect(findCycle(chain[0]!, lookupOf(chain))).toBeUndefined();
    expect(resolveDependencies(chain[0]!, lookupOf(chain)).state).toBe('Met');
    const diamond = [
      node('top', 'v1', undefined, { l: '*', r: '*' }),
      node('l', 'v1', 'Succeeded', { base: '*' }),
      node('r', 'v1', 'Succeeded', { base: '*' }),
      node('base', 'v1', 'Succeeded'),
    ];
    expect(findCycle(diamond[0]!, lookupOf(diamond))).toBeUndefined();
  });
});

describe('building workflows', () => {
  const a = (): Addon => ({
    ...addon('ns', 'demo', { data: { replicas: '2' } }),
    metadata: { name: 'demo', namespace: 'ns', uid: 'uid-1' },
  });

  it('injects parameters in upstream order', () => {
    const spec = a().spec;
    spec.pkgChannel = 'stable';
    expect(injectedParameters(spec).map((p) => p.name)).toEqual([
      'namespace',
      'pkgChannel',
      'pkgName',
      'pkgVersion',
      'pkgType',
      'pkgDescription',
      'clusterName',
      'clusterRegion',
      'replicas',
    ]);
  });

  it('labels the workflow and every embedded manifest, sets defaults and the owner', () => {
    const addonObj = a();
    const wf = buildWorkflow({
      addon: addonObj,
      step: 'install',
      template: addonObj.spec.lifecycle!.install!.template,
      specHash: '0123456789abcdef',
      run: '0123456789',
      defaults: { activeDeadlineSeconds: 300, ttlSecondsAfterCompletion: 259200, instanceID: 'iid' },
    });
    expect(wf.metadata.name).toBe('demo-install-0123456789');
    expect(wf.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'demo',
      'addonmgr.keikoproj.io/step': 'install',
      'addonmgr.keikoproj.io/spec-hash': '0123456789abcdef',
      'workflows.argoproj.io/controller-instanceid': 'iid',
    });
    expect(wf.spec.activeDeadlineSeconds).toBe(300);
    expect(wf.spec.ttlStrategy).toEqual({ secondsAfterCompletion: 259200 });
    expect(wf.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'addonmgr.keikoproj.io/v1alpha1',
        kind: 'Addon',
        name: 'demo',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const manifest = parse(wf.spec.templates!.find((t) => t.resource)!.resource!.manifest!);
    expect(manifest.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'demo',
      'app.kubernetes.io/part-of': 'demo',
      'app.kubernetes.io/version': 'v1.0.0',
      'app.kubernetes.io/managed-by': 'addonmgr.keikoproj.io',
    });
    // The addon's template is not modified.
    expect(addonObj.spec.lifecycle!.install!.template).not.toContain('managed-by');
  });

  it('labels every document of a multi-document manifest and leaves non-YAML alone', () => {
    const out = labelManifests(
      'kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b, labels: {x: y}}\n',
      { l: 'v' },
    );
    expect(out.split('---').map((d) => parse(d).metadata.labels)).toEqual([{ l: 'v' }, { x: 'y', l: 'v' }]);
    expect(labelManifests('{{ not yaml: [', { l: 'v' })).toBe('{{ not yaml: [');
  });

  it.each([
    ['apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {}\n', undefined],
    ['apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n', 'has no spec'],
    ['apiVersion: v1\nkind: ConfigMap\nspec: {}\n', 'must be an argoproj.io/v1alpha1 Workflow'],
    [
      'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {templates: 3}\n',
      'spec.templates must be a list',
    ],
    ['[1, 2', 'invalid YAML'],
    ['- a\n- b\n', 'must be a YAML object'],
    ['kind: Workflow\n---\nkind: Workflow\n', 'exactly one YAML document'],
  ])('parseTemplate(%p) problem: %p', (text, problem) => {
    const r = parseTemplate('install', text);
    if (problem === undefined) expect(r.ok).toBe(true);
    else expect(r).toEqual({ ok: false, message: expect.stringContaining(problem) });
    if (!r.ok) expect(r.message.startsWith('spec.lifecycle.install.template: ')).toBe(true);
  });

  it('reports parameter clashes, including pkg* names upstream did not check', () => {
    const spec = a().spec;
    spec.lifecycle!.install!.template =
      'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  arguments:\n    parameters: [{name: pkgName}]\n';
    spec.params.context = { additionalConfigs: { replicas: '1' } };
    expect(validateTemplates(spec)).toEqual([
      'spec.params: parameter replicas is defined twice (context.additionalConfigs and data)',
      'spec.lifecycle.install.template: parameter pkgName clashes with the addon parameter of that name',
    ]);
  });
});

describe('workload health', () => {
  it.each([
    [
      'Deployment',
      { spec: { replicas: 2 }, status: { observedGeneration: 1, updatedReplicas: 2, availableReplicas: 2 } },
      'Ready',
    ],
    [
      'Deployment',
      { spec: { replicas: 2 }, status: { observedGeneration: 1, updatedReplicas: 2, availableReplicas: 1 } },
      'InProgress',
    ],
    [
      'Deployment',
      {
        metadata: { generation: 2 },
        spec: { replicas: 1 },
        status: { observedGeneration: 1, updatedReplicas: 1, availableReplicas: 1 },
      },
      'InProgress',
    ],
    ['Deployment', { status: { conditions: [{ type: 'ReplicaFailure', status: 'True' }] } }, 'Failed'],
    [
      'DaemonSet',
      {
        status: {
          observedGeneration: 1,
          desiredNumberScheduled: 3,
          numberReady: 3,
          updatedNumberScheduled: 3,
        },
      },
      'Ready',
    ],
    [
      'DaemonSet',
      { status: { desiredNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3 } },
      'InProgress',
    ],
    ['StatefulSet', { spec: { replicas: 1 }, status: { observedGeneration: 1, readyReplicas: 1 } }, 'Ready'],
    ['StatefulSet', { spec: { replicas: 3 }, status: { readyReplicas: 1 } }, 'InProgress'],
    ['Job', { status: { conditions: [{ type: 'Complete', status: 'True' }] } }, 'Ready'],
    ['Job', { status: { conditions: [{ type: 'Failed', status: 'True' }] } }, 'Failed'],
    ['Job', { status: {} }, 'InProgress'],
  ])('%s %j is %s', (kind, partial, expected) => {
    const w = { metadata: { name: 'w', generation: 1 }, ...partial } as Parameters<typeof workloadHealth>[1];
    expect(workloadHealth(kind, w)).toBe(expected);
  });

  it.each([
    [{ matchLabels: { a: '1' } }, { a: '1', b: '2' }, true],
    [{ matchLabels: { a: '1' } }, { a: '2' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { a: '2' }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, { a: '1' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, {}, false],
    [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, {}, true],
  ])('selector %j matches %j: %p', (selector, labels, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});

describe('config', () => {
  it('has upstream defaults and parses flags and env', () => {
    const c = parseConfig(['--namespaces', 'a, b', '--install-timeout=60', '--enable-leader-election'], {
      ADDON_MANAGER_WORKFLOW_INSTANCE_ID: '',
      POD_NAMESPACE: 'addon-manager-system',
    });
    expect(c).toMatchObject({
      namespaces: ['a', 'b'],
      installTimeoutSeconds: 60,
      leaderElect: true,
      workflowInstanceId: '',
      leaseNamespace: 'addon-manager-system',
      workflowActiveDeadlineSeconds: 300,
      workflowTtlSeconds: 259200,
    });
    expect(() => parseConfig(['--workers=0'])).toThrow('--workers must be at least 1');
    expect(() => parseConfig(['--nope'])).toThrow('unknown flag --nope');
  });
});
