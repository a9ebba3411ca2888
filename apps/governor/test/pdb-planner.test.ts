/** pdb-reaper planner: table tests with a fixed clock, and one regression test per upstream bug. */
import { describe, expect, test } from '@jest/globals';
import type { Pod, PodDisruptionBudget } from '../src/kube.js';
import { planPdbReaping, resolveIntOrPercent } from '../src/pdb/planner.js';
import { config, minutesAgo, NOW, pdb, pod } from './fixtures.js';

const plan = (pdbs: PodDisruptionBudget[], pods: Pod[], argv: string[] = ['--blocking-for-minutes=0']) =>
  planPdbReaping({ now: NOW, pdbs, pods }, config('pdb', argv));
const acted = (p: ReturnType<typeof plan>) => p.actions.map((a) => `${a.pdb}:${a.reason}:${a.action}`);
const web = (n: number, labels: Record<string, string> = { app: 'web' }, extra = {}) =>
  Array.from({ length: n }, (_, i) => pod(`web-${i}`, { labels: { ...labels, i: String(i) }, ...extra }));

describe('overlapping PDBs', () => {
  test('only the younger PDB of an overlapping pair is deleted', () => {
    const pdbs = [
      pdb('young', { selector: { matchLabels: { app: 'web' } }, createdMinutesAgo: 10 }),
      pdb('old', { selector: { matchLabels: { app: 'web', i: '0' } }, createdMinutesAgo: 100 }),
    ];
    expect(acted(plan(pdbs, web(3)))).toEqual(['default/young:MultiplePodDisruptionBudgets:delete']);
  });

  test('regression: PDBs of the same namespace that do not overlap are left alone (upstream deleted all)', () => {
    const pdbs = [
      pdb('web', { selector: { matchLabels: { app: 'web' } } }),
      pdb('db', { selector: { matchLabels: { app: 'db' } } }),
    ];
    expect(plan(pdbs, [...web(2), pod('db-0', { labels: { app: 'db' } })]).actions).toEqual([]);
  });

  test('regression: matchExpressions are supported (upstream failed the run)', () => {
    const pdbs = [
      pdb('a', {
        selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] },
        createdMinutesAgo: 100,
      }),
      pdb('b', {
        selector: {
          matchExpressions: [
            { key: 'i', operator: 'Exists' },
            { key: 'tier', operator: 'DoesNotExist' },
          ],
        },
        createdMinutesAgo: 50,
      }),
      pdb('c', {
        selector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] },
        createdMinutesAgo: 10,
      }),
    ];
    expect(acted(plan(pdbs, web(2)))).toEqual(['default/b:MultiplePodDisruptionBudgets:delete']);
  });

  test('no overlap across namespaces', () => {
    const pdbs = [
      pdb('x', { namespace: 'a', selector: { matchLabels: { app: 'web' } } }),
      pdb('y', { namespace: 'b', selector: { matchLabels: { app: 'web' } } }),
    ];
    expect(
      plan(pdbs, [
        ...web(1, { app: 'web' }, { namespace: 'a' }),
        ...web(1, { app: 'web' }, { namespace: 'b' }),
      ]).actions,
    ).toEqual([]);
  });
});

describe('blocking PDBs', () => {
  const blocking = { allowed: 0, expected: 3 };
  test.each([
    ['maxUnavailable 0', { maxUnavailable: 0, ...blocking }, true],
    ['maxUnavailable 0%', { maxUnavailable: '0%', ...blocking }, true],
    ['maxUnavailable 10% rounds up to 1', { maxUnavailable: '10%', ...blocking }, false],
    ['minAvailable = expected', { minAvailable: 3, ...blocking }, true],
    ['minAvailable 100%', { minAvailable: '100%', ...blocking }, true],
    ['minAvailable above expected', { minAvailable: 5, ...blocking }, true],
    ['minAvailable 2 of 3 (blocked only by unhealthy pods)', { minAvailable: 2, ...blocking }, false],
    ['not blocking: disruptions allowed', { maxUnavailable: 0, allowed: 1, expected: 3 }, false],
    ['not blocking: no pods expected', { maxUnavailable: 0, allowed: 0, expected: 0 }, false],
  ])('misconfigured: %s', (_n, spec, reaped) => {
    expect(plan([pdb('web', spec)], web(3, { app: 'web' })).actions).toHaveLength(reaped ? 1 : 0);
  });

  test('resolveIntOrPercent rounds percentages up', () => {
    expect(resolveIntOrPercent('50%', 3)).toBe(2);
    expect(resolveIntOrPercent(2, 3)).toBe(2);
  });

  const crashing = (restarts: number) => ({
    containerStatuses: [
      { name: 'c', restartCount: restarts, state: { waiting: { reason: 'CrashLoopBackOff' } } },
    ],
  });
  test.each([
    ['all crash-looping', [6, 6], [], true],
    ['one of two, all-crashloop (default)', [6, 0], [], false],
    ['one of two, --all-crashloop=false', [6, 0], ['--all-crashloop=false'], true],
    ['too few restarts', [3, 3], [], false],
  ])('crashloop: %s', (_n, restarts, argv, reaped) => {
    const pods = restarts.map((r, i) =>
      pod(`web-${i}`, { labels: { app: 'web' }, ...(r ? crashing(r) : {}) }),
    );
    const p = plan([pdb('web', { minAvailable: 1, allowed: 0, expected: 2 })], pods, [
      '--blocking-for-minutes=0',
      '--reap-crashloop',
      ...argv,
    ]);
    expect(acted(p)).toEqual(reaped ? ['default/web:BlockingPodDisruptionBudgetWithCrashLoop:delete'] : []);
  });

  const notReady = (minutes: number) => ({
    conditions: [{ type: 'ContainersReady', status: 'False', lastTransitionTime: minutesAgo(minutes) }],
  });
  test('regression: not-ready is off by default (upstream: on, and one unready pod was enough)', () => {
    const pods = [
      pod('web-0', { labels: { app: 'web' }, ...notReady(60) }),
      pod('web-1', { labels: { app: 'web' }, ready: true }),
    ];
    const p = [pdb('web', { minAvailable: 1, allowed: 0, expected: 2 })];
    expect(plan(p, pods).actions).toEqual([]);
    expect(plan(p, pods, ['--blocking-for-minutes=0', '--reap-not-ready']).actions).toEqual([]);
    expect(
      acted(plan(p, pods, ['--blocking-for-minutes=0', '--reap-not-ready', '--all-not-ready=false'])),
    ).toEqual(['default/web:BlockingPodDisruptionBudgetWithNotReadyState:delete']);
  });

  test('not-ready threshold', () => {
    const pods = [pod('web-0', { labels: { app: 'web' }, ...notReady(20) })];
    const p = [pdb('web', { minAvailable: 1, allowed: 0, expected: 1 })];
    expect(
      plan(p, pods, ['--blocking-for-minutes=0', '--reap-not-ready', '--reap-misconfigured=false']).actions,
    ).toEqual([]);
    expect(
      plan(p, pods, [
        '--blocking-for-minutes=0',
        '--reap-not-ready',
        '--reap-misconfigured=false',
        '--not-ready-threshold-seconds=600',
      ]).actions,
    ).toHaveLength(1);
  });

  test('excluded namespaces, case-insensitive', () => {
    const p = [pdb('web', { namespace: 'Kube-System', maxUnavailable: 0, ...blocking })];
    expect(
      plan(p, web(3, { app: 'web' }, { namespace: 'Kube-System' }), [
        '--blocking-for-minutes=0',
        '--excluded-namespaces=kube-system',
      ]).actions,
    ).toEqual([]);
  });
});

describe('persistence across runs (keikoproj/governor#52)', () => {
  const blockingPdb = (annotations?: Record<string, string>) =>
    pdb('web', { maxUnavailable: 0, allowed: 0, expected: 2, ...(annotations ? { annotations } : {}) });
  const since = (m: number) => ({ 'governor.keikoproj.io/reapable-since': minutesAgo(m) });
  test('first seen: marked, not deleted', () => {
    const p = plan([blockingPdb()], web(2), []);
    expect(acted(p)).toEqual(['default/web:BlockingPodDisruptionBudget:mark']);
    expect(p.waiting).toHaveLength(1);
  });
  test('still within the window: nothing', () => {
    expect(plan([blockingPdb(since(10))], web(2), []).actions).toEqual([]);
  });
  test('past the window (default 30 min): deleted', () => {
    expect(acted(plan([blockingPdb(since(31))], web(2), []))).toEqual([
      'default/web:BlockingPodDisruptionBudget:delete',
    ]);
  });
  test('no longer reapable: the mark is cleared', () => {
    const fixed = pdb('web', { maxUnavailable: 1, allowed: 1, expected: 2, annotations: since(5) });
    expect(acted(plan([fixed], web(2), []))).toEqual(['default/web:BlockingPodDisruptionBudget:unmark']);
  });
  test('regression: one action per PDB even when several rules match (upstream de-dup never matched)', () => {
    const p = plan(
      [pdb('web', { maxUnavailable: 0, allowed: 0, expected: 2 })],
      web(
        2,
        { app: 'web' },
        {
          containerStatuses: [
            { name: 'c', restartCount: 9, state: { waiting: { reason: 'CrashLoopBackOff' } } },
          ],
        },
      ),
      ['--blocking-for-minutes=0', '--reap-crashloop'],
    );
    expect(p.actions).toHaveLength(1);
  });
});
