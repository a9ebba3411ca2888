import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { discoverApps, yamlFiles } from '../src/apps.js';
import { objectsToCheck, readManifests } from '../src/examples.js';
import { check, parseExpectation } from '../src/expect.js';
import { isAwsFixtureFile, parseAwsFixture } from '../src/fixtures.js';
import { nodeGroupOf } from '../src/groups.js';
import { evaluate } from '../src/jsonpath.js';
import { getProducts } from '../src/pricing.js';
import { fitToHeight, renderExamples, renderKind, renderNodes } from '../src/view.js';

const ig = {
  metadata: { name: 'payments-workers', namespace: 'team-payments' },
  status: {
    currentState: 'ReadyState',
    conditions: [
      { type: 'Progressing', status: 'False' },
      { type: 'Ready', status: 'True', reason: 'Ready' },
    ],
    nodes: [{ name: 'ip-10-1-0-4' }, { name: 'ip-10-1-0-5' }],
  },
};

describe('printer-column JSONPath', () => {
  test.each([
    ['.status.currentState', 'ReadyState'],
    ['.status.conditions[1].reason', 'Ready'],
    ['.status.conditions[?(@.type=="Ready")].status', 'True'],
    ['.status.nodes[*].name', 'ip-10-1-0-4'],
    ['.status.missing.field', undefined],
  ])('%s', (path, expected) => {
    expect(evaluate(ig, path)).toBe(expected);
  });
});

describe('view', () => {
  test('a kind renders with its printer columns', () => {
    const lines = renderKind({
      kind: 'InstanceGroup',
      plural: 'instancegroups',
      namespaced: true,
      columns: [
        { name: 'State', jsonPath: '.status.currentState' },
        { name: 'Ready', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      ],
      objects: [ig],
    });
    expect(lines[0]).toBe('InstanceGroup (1)');
    expect(lines[1]).toMatch(/NAMESPACE\s+NAME\s+STATE\s+READY/);
    expect(lines[2]).toMatch(/team-payments\s+payments-workers\s+ReadyState\s+True/);
  });

  test('nodes are counted per group', () => {
    const lines = renderNodes([
      { name: 'a', group: 'payments', ready: true, unschedulable: false },
      { name: 'b', group: 'payments', ready: false, unschedulable: true },
      { name: 'c', group: 'search', ready: true, unschedulable: false },
    ]);
    expect(lines[0]).toBe('Nodes (3)');
    expect(lines[2]).toMatch(/payments\s+2\s+1\s+1/);
    expect(lines[3]).toMatch(/search\s+1\s+1\s+0/);
  });
});

describe('app discovery', () => {
  test('only apps that declare keiko.sandbox join, with their paths resolved', () => {
    const root = mkdtempSync(join(tmpdir(), 'sandbox-test-'));
    for (const [name, pkg] of [
      [
        'alpha',
        {
          keiko: {
            sandbox: {
              aws: true,
              args: ['--x'],
              crds: '../../deploy/charts/alpha/crds',
              examples: '../../examples/alpha',
            },
          },
        },
      ],
      ['beta', { name: 'beta' }],
      ['gamma', { keiko: { sandbox: { mode: 'once', entry: 'dist/cli.js' } } }],
    ] as const) {
      mkdirSync(join(root, 'apps', name), { recursive: true });
      writeFileSync(join(root, 'apps', name, 'package.json'), JSON.stringify(pkg));
    }
    mkdirSync(join(root, 'examples', 'alpha'), { recursive: true });
    writeFileSync(join(root, 'examples', 'alpha', '20-b.yaml'), '');
    writeFileSync(join(root, 'examples', 'alpha', '10-a.yml'), '');
    writeFileSync(join(root, 'examples', 'alpha', 'notes.md'), '');
    const apps = discoverApps(root);
    expect(apps.map((a) => [a.name, a.mode, a.aws, a.args])).toEqual([
      ['alpha', 'controller', true, ['--x']],
      ['gamma', 'once', false, []],
    ]);
    expect(apps[0]?.entry).toBe(join(root, 'apps', 'alpha', 'dist', 'main.js'));
    expect(apps[1]?.entry).toBe(join(root, 'apps', 'gamma', 'dist', 'cli.js'));
    expect(yamlFiles(apps[0]?.examplesDir).map((f) => f.slice(root.length))).toEqual([
      '/examples/alpha/10-a.yml',
      '/examples/alpha/20-b.yaml',
    ]);
  });

  test('the repository apps that declare a sandbox entry point at a built file and a chart', () => {
    const repo = join(import.meta.dirname, '..', '..', '..');
    const apps = discoverApps(repo);
    expect(apps.length).toBeGreaterThanOrEqual(5);
    for (const app of apps) {
      expect(app.entry.endsWith('.js')).toBe(true);
      if (app.mode === 'controller')
        expect(app.crdsDir === undefined || app.crdsDir.includes('deploy/charts')).toBe(true);
    }
  });
});

describe('expectations', () => {
  test('clauses parse, filters with == included', () => {
    expect(
      parseExpectation(
        '.status.currentState=Ready; .status.conditions[?(@.type=="Ready")].reason=Ok\n.a>=2;.b~^x',
      ),
    ).toEqual([
      { path: '.status.currentState', op: '=', value: 'Ready' },
      { path: '.status.conditions[?(@.type=="Ready")].reason', op: '=', value: 'Ok' },
      { path: '.a', op: '>=', value: '2' },
      { path: '.b', op: '~', value: '^x' },
    ]);
    expect(() => parseExpectation('status.phase')).toThrow(/cannot parse "status.phase"/);
  });

  test('an object meets its expectation, or says what is missing', () => {
    const clauses = parseExpectation(
      '.status.currentState=ReadyState; .status.nodes[*].name~^ip-; .spec.n>=2',
    );
    expect(check({ ...ig, spec: { n: 3 } } as never, clauses)).toEqual({ ok: true, why: '' });
    expect(check({ ...ig, spec: { n: 1 } } as never, clauses)).toEqual({
      ok: false,
      why: '.spec.n="1" (want >=2)',
    });
    expect(check({ ...ig } as never, clauses).why).toBe('.spec.n="" (want >=2)');
    expect(check(undefined, clauses)).toEqual({ ok: false, why: 'not found' });
  });

  test('without an expectation, a True Ready/Complete condition is the default', () => {
    expect(check(ig as never, undefined).ok).toBe(true);
    expect(
      check({ status: { conditions: [{ type: 'Ready', status: 'False' }] } } as never, undefined).ok,
    ).toBe(false);
  });

  test('custom resources and annotated objects are checked; plain namespaces are not', () => {
    const objects = objectsToCheck(
      [
        { file: 'a.yaml', manifest: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } } },
        {
          file: 'a.yaml',
          manifest: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: 'p',
              namespace: 'x',
              annotations: { 'sandbox.keiko.dev/expect': '.status.phase=Running' },
            },
          },
        },
        {
          file: 'b.yaml',
          manifest: { apiVersion: 'g.io/v1', kind: 'Thing', metadata: { name: 't', namespace: 'x' } },
        },
      ],
      new Set(['g.io/v1/Thing']),
    );
    expect(objects.map((o) => [o.kind, o.name, o.expect?.length])).toEqual([
      ['Pod', 'p', 1],
      ['Thing', 't', undefined],
    ]);
  });
});

describe('AWS fixtures', () => {
  test('a fixture parses, and a missing field is named', () => {
    const f = parseAwsFixture(
      'x.aws.yaml',
      `launchTemplates:
  - LaunchTemplateName: lt
    versions: [{ InstanceType: m5.large }, { InstanceType: m5.xlarge }]
autoScalingGroups:
  - AutoScalingGroupName: g
    LaunchTemplate: { LaunchTemplateName: lt, Version: "2" }
    launchedFromVersion: "1"
    MinSize: 1
    MaxSize: 2
    expect: .Tags[?(@.Key=="k")].Value=v
`,
    );
    expect(f.launchTemplates[0]?.versions).toHaveLength(2);
    expect(f.autoScalingGroups[0]?.launchedFromVersion).toBe('1');
    expect(() => parseAwsFixture('y.aws.yaml', 'autoScalingGroups:\n  - AutoScalingGroupName: g\n')).toThrow(
      'y.aws.yaml: autoScalingGroups[0].LaunchTemplate needs LaunchTemplateName and Version',
    );
    expect(isAwsFixtureFile('/e/00-a.aws.yaml')).toBe(true);
    expect(isAwsFixtureFile('/e/00-a.yaml')).toBe(false);
  });
});

describe('node groups', () => {
  const tags = new Map<string, Record<string, string>>([
    [
      'i-1',
      {
        'aws:autoscaling:groupName': 'c-team-a-workers',
        'instancegroups.keikoproj.io/InstanceGroup': 'workers',
        'instancegroups.keikoproj.io/Namespace': 'team-a',
      },
    ],
    ['i-2', { 'aws:autoscaling:groupName': 'legacy' }],
  ]);
  const node = (id: string, labels: Record<string, string> = {}) => ({
    metadata: { name: id, labels },
    spec: { providerID: `aws:///us-west-2a/${id}` },
  });
  test('by the instance tags: InstanceGroup, else ASG, else node labels', () => {
    expect(nodeGroupOf(node('i-1'), tags, 'x')).toBe('team-a/workers');
    expect(nodeGroupOf(node('i-2'), tags, 'x')).toBe('legacy');
    expect(nodeGroupOf(node('i-3', { 'node.kubernetes.io/role': 'r' }), tags, 'x')).toBe('r');
    expect(nodeGroupOf({ metadata: { name: 'argo' } }, tags, 'x')).toBe('(no group)');
    expect(nodeGroupOf({ metadata: { name: 'n', annotations: { x: 'i-2' } } }, tags, 'x')).toBe('legacy');
  });
});

describe('the repository examples', () => {
  const repo = join(import.meta.dirname, '..', '..', '..');
  const apps = discoverApps(repo);

  test('every example file parses, and every example object states an expectation that parses', () => {
    for (const app of apps) {
      for (const file of yamlFiles(app.examplesDir)) {
        if (isAwsFixtureFile(file)) {
          // Its groups' expectations are optional: the legacy group's is its RollingUpgrade's.
          parseAwsFixture(file, readFileSync(file, 'utf8'));
          continue;
        }
        const manifests = readManifests(file);
        const custom = manifests.filter((m) => !['v1'].includes(m.apiVersion));
        for (const o of objectsToCheck(
          custom.map((manifest) => ({ file, manifest })),
          new Set(custom.map((m) => `${m.apiVersion}/${m.kind}`)),
        ))
          expect([file, o.expect?.length ?? 0]).not.toEqual([file, 0]);
      }
    }
  });

  test('every tool with a CRD has examples, and every app of the sandbox is a devDependency (turbo builds it first)', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    for (const app of apps) {
      expect([app.name, pkg.devDependencies[`@keiko/${app.name}`]]).toEqual([app.name, 'workspace:*']);
      if (app.crdsDir) expect([app.name, yamlFiles(app.examplesDir).length > 0]).toEqual([app.name, true]);
    }
    expect(
      readdirSync(join(repo, 'examples'))
        .filter((d) => !d.endsWith('.md'))
        .sort(),
    ).toEqual(
      apps
        .filter((a) => a.examplesDir)
        .map((a) => a.name)
        .sort(),
    );
  });
});

describe('examples view', () => {
  test('the examples still waiting, with what they lack; one line when all are there', () => {
    const lines = renderExamples(
      [
        {
          name: 'RollingUpgrade upgrades/roll',
          expected: '.status.currentStatus=completed',
          ok: true,
          why: '',
        },
        { name: 'governor (run once)', expected: 'exit 0', ok: false, why: 'running' },
        { name: 'Thing a', expected: '.a=1; .b=2', ok: false, why: '.a="0" (want 1); .b="" (want 2)' },
        { name: 'Thing b', expected: '.a=1', ok: false, why: '.a="0" (want 1)' },
      ],
      2,
    );
    expect(lines).toEqual([
      'Examples (1/4 in their expected state; waiting for)',
      expect.stringMatching(/EXAMPLE\s+NOW/),
      expect.stringMatching(/governor \(run once\)\s+running$/),
      expect.stringMatching(/Thing a\s+\.a="0" \(want 1\) \(\+1 more\)$/),
      '  ... 1 more',
    ]);
    expect(renderExamples([{ name: 'a', expected: 'x', ok: true, why: '' }])).toEqual([
      'Examples: all 1 in their expected state',
    ]);
  });

  test('the view is cut to the terminal height', () => {
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i}`);
    expect(fitToHeight(lines, 10)).toEqual(lines);
    expect(fitToHeight(lines, 4)).toEqual([
      'line 0',
      'line 1',
      'line 2',
      '... 7 more lines (a taller terminal shows them)',
    ]);
  });
});

describe('Pricing API stand-in', () => {
  const filters = (region: string, type: string) => [
    { Type: 'TERM_MATCH', Field: 'regionCode', Value: region },
    { Type: 'TERM_MATCH', Field: 'instanceType', Value: type },
  ];
  test('a known type gets its on-demand price in the Pricing API format; an unknown one nothing', () => {
    const known = getProducts({ ServiceCode: 'AmazonEC2', Filters: filters('us-west-2', 'm5.large') });
    expect(known.PriceList).toHaveLength(1);
    const entry = JSON.parse(known.PriceList[0] ?? '{}');
    const dims = Object.values(entry.terms.OnDemand).flatMap((t) =>
      Object.values(
        (t as { priceDimensions: Record<string, { unit: string; pricePerUnit: { USD: string } }> })
          .priceDimensions,
      ),
    );
    expect(dims).toEqual([{ unit: 'Hrs', pricePerUnit: { USD: '0.096' } }]);
    expect(
      getProducts({ ServiceCode: 'AmazonEC2', Filters: filters('us-west-2', 'x9.huge') }).PriceList,
    ).toEqual([]);
    expect(
      getProducts({ ServiceCode: 'AmazonEC2', Filters: filters('eu-west-1', 'm5.large') }).PriceList,
    ).toEqual([]);
    expect(
      getProducts({ ServiceCode: 'AmazonS3', Filters: filters('us-west-2', 'm5.large') }).PriceList,
    ).toEqual([]);
  });
});
