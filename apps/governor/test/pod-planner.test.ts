/** pod-reaper planner: table tests with a fixed clock, and one regression test per upstream bug. */
import { describe, expect, test } from '@jest/globals';
import type { Namespace, Pod } from '../src/kube.js';
import { planPodReaping } from '../src/pod/planner.js';
import { config, minutesAgo, NOW, pod } from './fixtures.js';

const ns = (name: string, annotations: Record<string, string> = {}): Namespace => ({
  metadata: { name, annotations },
});
function plan(
  pods: Pod[],
  argv: string[] = [],
  namespaces: Namespace[] = [ns('default'), ns('a'), ns('b')],
  nodes = ['n1'],
) {
  return planPodReaping({ now: NOW, pods, namespaces, nodeNames: new Set(nodes) }, config('pod', argv));
}
const acted = (p: ReturnType<typeof plan>) => p.actions.map((a) => `${a.pod}:${a.reason}:${a.action}`);

describe('stuck terminating', () => {
  test.each([
    ['past reap-after', { node: 'n1', deletedMinutesAgo: 11 }, ['default/p:StuckTerminating:force-delete']],
    ['within reap-after', { node: 'n1', deletedMinutesAgo: 9 }, []],
    // Upstream subtracted the grace period from deletionTimestamp although it already includes it: a
    // pod with a 20-minute grace period was eligible right after deletion.
    ['regression: grace is not subtracted twice', { node: 'n1', deletedMinutesAgo: 5, grace: 1200 }, []],
    ['soft-reap: a running container holds it', { node: 'n1', deletedMinutesAgo: 30, running: true }, []],
    [
      'soft-reap does not hold a pod whose node is gone',
      { node: 'gone', deletedMinutesAgo: 30, running: true },
      ['default/p:StuckTerminating:force-delete'],
    ],
    [
      'finalizers are removed when the node is gone',
      { node: 'gone', deletedMinutesAgo: 30, finalizers: ['x/y'] },
      ['default/p:StuckTerminating:remove-finalizers-and-force-delete'],
    ],
    [
      'finalizers are kept when the node is there',
      { node: 'n1', deletedMinutesAgo: 30, finalizers: ['x/y'] },
      ['default/p:StuckTerminating:force-delete'],
    ],
  ])('%s', (_n, spec, expected) => {
    expect(acted(plan([pod('p', spec)]))).toEqual(expected);
  });

  test('--soft-reap=false reaps running pods; --remove-finalizers-on-gone-node=false keeps finalizers', () => {
    expect(
      plan([pod('p', { node: 'n1', deletedMinutesAgo: 30, running: true })], ['--soft-reap=false']).actions,
    ).toHaveLength(1);
    expect(
      acted(
        plan(
          [pod('p', { node: 'gone', deletedMinutesAgo: 30, finalizers: ['f'] })],
          ['--remove-finalizers-on-gone-node=false'],
        ),
      ),
    ).toEqual(['default/p:StuckTerminating:force-delete']);
  });

  test('regression: same-named pods in two namespaces are two candidates, each with its own UID', () => {
    const p = plan([
      pod('web', { namespace: 'a', deletedMinutesAgo: 30 }),
      pod('web', { namespace: 'b', deletedMinutesAgo: 30 }),
    ]);
    expect(p.actions.map((a) => [a.pod, a.uid])).toEqual([
      ['a/web', 'uid-a-web'],
      ['b/web', 'uid-b-web'],
    ]);
  });

  test('namespace opt-outs', () => {
    const pods = [
      pod('p', { namespace: 'a', deletedMinutesAgo: 30 }),
      pod('q', { namespace: 'b', deletedMinutesAgo: 30 }),
    ];
    const p = plan(
      pods,
      [],
      [
        ns('a', { 'governor.keikoproj.io/disable-pod-reaper': 'true' }),
        ns('b', { 'governor.keikoproj.io/disable-stuck-pod-reap': 'true' }),
      ],
    );
    expect(p.actions).toEqual([]);
    expect(p.skipped.map((s) => s.pod)).toEqual(['a/p', 'b/q']);
  });
});

describe('completed and failed', () => {
  test('completed after the threshold; off by default', () => {
    const pods = [
      pod('old', { phase: 'Succeeded', finishedMinutesAgo: 300 }),
      pod('new', { phase: 'Succeeded', finishedMinutesAgo: 100 }),
    ];
    expect(plan(pods).actions).toEqual([]);
    expect(acted(plan(pods, ['--reap-completed']))).toEqual(['default/old:Completed:force-delete']);
  });

  test('regression: a Succeeded pod without terminated statuses no longer ends the scan', () => {
    const pods = [
      pod('odd', { phase: 'Succeeded', containerStatuses: [] }),
      pod('old', { phase: 'Succeeded', finishedMinutesAgo: 300 }),
    ];
    expect(acted(plan(pods, ['--reap-completed']))).toEqual(['default/old:Completed:force-delete']);
  });

  test('threshold measured from the latest container finish', () => {
    const p = pod('multi', {
      phase: 'Succeeded',
      containerStatuses: [
        { name: 'a', state: { terminated: { finishedAt: minutesAgo(500) } } },
        { name: 'b', state: { terminated: { finishedAt: minutesAgo(100) } } },
      ],
    });
    expect(plan([p], ['--reap-completed']).actions).toEqual([]);
  });

  test('failed pods have their own opt-out key; the completed key still counts for them (legacy)', () => {
    const failed = (namespace: string) => pod('f', { namespace, phase: 'Failed', finishedMinutesAgo: 300 });
    const namespaces = [
      ns('a', { 'governor.keikoproj.io/disable-failed-pod-reap': 'true' }),
      ns('b', { 'governor.keikoproj.io/disable-completed-pod-reap': 'true' }),
      ns('default'),
    ];
    expect(acted(plan([failed('a'), failed('b'), failed('default')], ['--reap-failed'], namespaces))).toEqual(
      ['default/f:Failed:force-delete'],
    );
  });

  test('regression keikoproj/governor#33: evicted pods honour the threshold and the namespace opt-out', () => {
    const evicted = (name: string, namespace: string, minutes: number) =>
      pod(name, {
        namespace,
        phase: 'Failed',
        reason: 'Evicted',
        conditions: [{ type: 'DisruptionTarget', status: 'True', lastTransitionTime: minutesAgo(minutes) }],
      });
    const namespaces = [ns('a', { 'governor.keikoproj.io/disable-pod-reaper': 'true' }), ns('default')];
    const p = plan(
      [evicted('recent', 'default', 10), evicted('old', 'default', 300), evicted('optout', 'a', 300)],
      ['--reap-failed'],
      namespaces,
    );
    expect(acted(p)).toEqual(['default/old:Evicted:force-delete']);
  });
});
