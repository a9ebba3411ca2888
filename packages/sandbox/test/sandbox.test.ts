import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { discoverApps, yamlFiles } from '../src/apps.js';
import { evaluate } from '../src/jsonpath.js';
import { renderKind, renderNodes } from '../src/view.js';

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
