/**
 * node-reaper planner: table tests over (nodes, pods, events, instances, ASGs, clock, config), including
 * one regression test per upstream bug listed in ../shared/reference/governor.md. The clock is a fixed
 * Date: no sleeps, no timers.
 */
import { describe, expect, test } from '@jest/globals';
import type { Node, Pod } from '../src/kube.js';
import {
  type AsgInfo,
  type InstanceInfo,
  type NodeObservation,
  planNodeReaping,
  regionOf,
} from '../src/node/planner.js';
import { asg, config, instance, minutesAgo, NOW, node, pod, readyEvent } from './fixtures.js';

/** A cluster of healthy nodes n0..n(count-1), all in ASG `workers`, plus overrides. */
function cluster(count: number, overrides: Record<string, Parameters<typeof node>[1]> = {}) {
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) nodes.push(node(`n${i}`, overrides[`n${i}`]));
  for (const [name, spec] of Object.entries(overrides))
    if (!nodes.some((n) => n.metadata.name === name)) nodes.push(node(name, spec));
  return nodes;
}

function observe(nodes: Node[], extra: Partial<NodeObservation> = {}): NodeObservation {
  const instances: InstanceInfo[] =
    extra.instances ?? nodes.map((n) => instance(n.spec!.providerID!.split('/').pop()!));
  const groups: AsgInfo[] = extra.asgs ?? [
    asg(
      'workers',
      instances.filter((i) => i.asg === 'workers').map((i) => i.instanceId),
    ),
  ];
  return {
    now: NOW,
    nodes,
    pods: [],
    readyEvents: [],
    unjoinedInstances: [],
    ...extra,
    instances,
    asgs: groups,
  };
}

const plan = (obs: NodeObservation, argv: string[] = []) => planNodeReaping(obs, config('node', argv));
const acted = (p: ReturnType<typeof plan>) =>
  p.actions.map((a) => `${a.node ?? a.instanceId}:${a.reason}:${a.action}`);
const skippedWhy = (p: ReturnType<typeof plan>, name: string) => p.skipped.find((s) => s.node === name)?.why;

describe('unready and unknown nodes', () => {
  test.each([
    [
      'Unknown past reap-after is drained and terminated',
      { ready: 'Unknown', since: 11 },
      [],
      ['sick:Unknown:drain-terminate'],
    ],
    ['Unknown within reap-after is left alone', { ready: 'Unknown', since: 9 }, [], []],
    ['NotReady past reap-after', { ready: 'False', since: 30 }, [], ['sick:NotReady:drain-terminate']],
    ['NotReady with --reap-unready=false', { ready: 'False', since: 30 }, ['--reap-unready=false'], []],
    ['Unknown with --reap-unknown=false', { ready: 'Unknown', since: 30 }, ['--reap-unknown', 'false'], []],
    [
      'reap-after in minutes, fractional',
      { ready: 'Unknown', since: 2 },
      ['--reap-after=1.5'],
      ['sick:Unknown:drain-terminate'],
    ],
  ] as const)('%s', (_name, spec, argv, expected) => {
    expect(acted(plan(observe(cluster(5, { sick: spec as never })), [...argv]))).toEqual(expected);
  });

  test('soft-reap skips an unready node that still has a Ready pod; NodeLost pods do not count', () => {
    const nodes = cluster(5, { a: { ready: 'Unknown', since: 30 }, b: { ready: 'Unknown', since: 30 } });
    const pods: Pod[] = [
      pod('p1', { node: 'a', ready: true }),
      pod('p2', { node: 'b', ready: true, reason: 'NodeLost' }),
    ];
    const p = plan(observe(nodes, { pods }), ['--max-kill-nodes=5', '--max-kill-percent=100']);
    expect(acted(p)).toEqual(['b:Unknown:drain-terminate']);
    expect(skippedWhy(p, 'a')).toMatch(/soft-reap/);
    expect(
      acted(
        plan(observe(nodes, { pods }), ['--max-kill-nodes=5', '--max-kill-percent=100', '--soft-reap=false']),
      ),
    ).toHaveLength(2);
  });

  test('a node whose termination was already issued is not picked again (restart-safe)', () => {
    const nodes = cluster(3, {
      sick: {
        ready: 'Unknown',
        since: 30,
        annotations: { 'governor.keikoproj.io/state': 'termination-issued' },
      },
    });
    const p = plan(observe(nodes));
    expect(p.actions).toEqual([]);
    expect(skippedWhy(p, 'sick')).toMatch(/termination already issued/);
  });
});

describe('ghost nodes', () => {
  test('instance terminated: the Node is deleted, not its replacement (upstream drained and terminated another instance)', () => {
    const nodes = cluster(3, { ghost: {} });
    const instances = [
      instance('i-n0'),
      instance('i-n1'),
      instance('i-n2'),
      instance('i-ghost', { state: 'terminated' }),
    ];
    expect(acted(plan(observe(nodes, { instances })))).toEqual(['ghost:Ghost:delete-node']);
  });

  test('regression keikoproj/governor#47: an instance EC2 no longer knows is treated as terminated', () => {
    const nodes = cluster(3, { ghost: {} });
    const instances = [instance('i-n0'), instance('i-n1'), instance('i-n2')];
    const p = plan(observe(nodes, { instances }));
    expect(acted(p)).toEqual(['ghost:Ghost:delete-node']);
    expect(p.actions[0]!.detail).toMatch(/not known to EC2/);
  });

  test('safety: when EC2 knows few of the instances (wrong region/account), no unknown-instance ghost is deleted', () => {
    const nodes = cluster(4);
    const p = plan(observe(nodes, { instances: [instance('i-n0', { state: 'terminated' })] }));
    // n0 is terminated (positive evidence): deleted. n1..n3 unknown: 3 of 4 unknown -> distrusted.
    expect(acted(p)).toEqual(['n0:Ghost:delete-node']);
    expect(skippedWhy(p, 'n1')).toMatch(/wrong region or account/);
  });

  test('--reap-ghost=false leaves them', () => {
    const nodes = cluster(3, { ghost: {} });
    expect(plan(observe(nodes, { instances: [instance('i-n0')] }), ['--reap-ghost=false']).actions).toEqual(
      [],
    );
  });
});

describe('protection on every path (upstream protected control plane and self on the age path only)', () => {
  const cp = { 'node-role.kubernetes.io/control-plane': '' };
  test.each([
    ['unknown', { ready: 'Unknown' as const, since: 60, labels: cp }, [] as string[]],
    ['tainted', { labels: cp, taints: [{ key: 'bad', effect: 'NoSchedule' }] }, ['--reap-tainted=bad']],
    [
      'legacy master label',
      { ready: 'False' as const, since: 60, labels: { 'kubernetes.io/role': 'master' } },
      [],
    ],
  ])('control-plane node, %s path', (_n, spec, argv) => {
    const p = plan(observe(cluster(3, { cp: spec })), argv);
    expect(p.actions).toEqual([]);
    expect(skippedWhy(p, 'cp')).toBe('control-plane node');
  });

  test('control-plane ghost is not deleted', () => {
    const p = plan(
      observe(cluster(2, { cp: { labels: cp } }), { instances: [instance('i-n0'), instance('i-n1')] }),
    );
    expect(p.actions).toEqual([]);
  });

  test("the reaper's own node, flappy path", () => {
    const nodes = cluster(3);
    const p = plan(observe(nodes, { readyEvents: [readyEvent('n1', 6, 30, 1)] }), ['--node-name=n1']);
    expect(p.actions).toEqual([]);
    expect(skippedWhy(p, 'n1')).toBe("the reaper's own node");
  });

  test('skip label honoured on the tainted and ghost paths (upstream ignored it there)', () => {
    const off = { 'governor.keikoproj.io/node-reaper-disabled': 'true' };
    const nodes = cluster(2, {
      t: { labels: off, taints: [{ key: 'bad', effect: 'NoExecute' }] },
      g: { labels: off },
    });
    const instances = [instance('i-n0'), instance('i-n1'), instance('i-t')];
    expect(plan(observe(nodes, { instances }), ['--reap-tainted=bad']).actions).toEqual([]);
  });

  test('per-reason skip labels', () => {
    const nodes = cluster(3, {
      u: { ready: 'Unknown', since: 60, labels: { 'governor.keikoproj.io/reap-unknown-disabled': 'true' } },
    });
    expect(plan(observe(nodes)).actions).toEqual([]);
  });

  test('region filter applies to tainted nodes too (upstream: no region filter there)', () => {
    const nodes = cluster(2, {
      far: {
        labels: { 'topology.kubernetes.io/region': 'eu-west-1' },
        taints: [{ key: 'bad', effect: 'NoSchedule' }],
      },
    });
    const p = plan(observe(nodes), ['--reap-tainted=bad', '--region=us-west-2']);
    expect(p.actions).toEqual([]);
    expect(skippedWhy(p, 'far')).toMatch(/region eu-west-1/);
  });

  test('regression keikoproj/governor#59: local-zone providerIDs give the right region', () => {
    const n = node('lz', { zone: 'us-west-2-lax-1a' });
    delete n.metadata.labels!['topology.kubernetes.io/region'];
    expect(regionOf(n)).toBe('us-west-2');
    expect(regionOf(node('x', { labels: { 'topology.kubernetes.io/region': 'eu-west-1' } }))).toBe(
      'eu-west-1',
    );
  });
});

describe('flappy nodes: NodeReady transitions in an explicit window', () => {
  test.each([
    ['5 recent transitions', [readyEvent('n1', 5, 30, 1)], ['n1:Flappy:drain-terminate']],
    ['4 recent transitions', [readyEvent('n1', 4, 30, 1)], []],
    // Upstream summed whatever the event TTL kept: an old burst still counted.
    ['a burst that ended before the window does not count', [readyEvent('n1', 20, 300, 200)], []],
    ['a long-running series counts only what is provably recent', [readyEvent('n1', 20, 300, 5)], []],
    [
      'events of several objects add up',
      [readyEvent('n1', 3, 30, 5), readyEvent('n1', 2, 20, 2)],
      ['n1:Flappy:drain-terminate'],
    ],
  ])('%s', (_n, readyEvents, expected) => {
    expect(acted(plan(observe(cluster(4), { readyEvents })))).toEqual(expected);
  });
});

describe('tainted nodes', () => {
  test.each([
    ['key only', 'bad', { key: 'bad', value: 'x', effect: 'NoSchedule' }, true],
    ['key:effect', 'bad:NoExecute', { key: 'bad', effect: 'NoSchedule' }, false],
    ['key=value:effect', 'bad=x:NoSchedule', { key: 'bad', value: 'x', effect: 'NoSchedule' }, true],
    ['other value', 'bad=y:NoSchedule', { key: 'bad', value: 'x', effect: 'NoSchedule' }, false],
  ])('%s', (_n, flag, taint, reaped) => {
    expect(
      plan(observe(cluster(3, { t: { taints: [taint] } })), [`--reap-tainted=${flag}`]).actions,
    ).toHaveLength(reaped ? 1 : 0);
  });
});

describe('drain back-off (reconsider-unreapable-after)', () => {
  const sick = (annotation: string) => ({
    ready: 'Unknown' as const,
    since: 60,
    annotations: { 'governor.keikoproj.io/age-unreapable': annotation },
  });
  test('a recent failed drain holds the node back, whatever the reason (upstream: age path only)', () => {
    const p = plan(observe(cluster(3, { s: sick(minutesAgo(10)) })));
    expect(p.actions).toEqual([]);
    expect(skippedWhy(p, 's')).toMatch(/drain failed recently/);
  });
  test('after the window it is tried again', () => {
    expect(acted(plan(observe(cluster(3, { s: sick(minutesAgo(46)) }))))).toEqual([
      's:Unknown:drain-terminate',
    ]);
  });
  test('regression keikoproj/governor#39: an unparseable or legacy "true" value never blocks a node forever', () => {
    expect(plan(observe(cluster(3, { s: sick('true') }))).actions).toHaveLength(1);
    expect(plan(observe(cluster(3, { s: sick('garbage') }))).actions).toHaveLength(1);
  });
});

describe('caps', () => {
  const sickOf = (n: number) =>
    Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`n${i}`, { ready: 'Unknown' as const, since: 60 + i }]),
    );
  test('10 sick of 20 with a 20% cap: exactly 4, longest-broken first', () => {
    const p = plan(observe(cluster(20, sickOf(10))), [
      '--max-kill-nodes=100',
      '--max-kill-percent=20',
      '--max-kill-percent-per-asg=100',
    ]);
    expect(p.cap).toBe(4);
    expect(acted(p)).toEqual(['n9', 'n8', 'n7', 'n6'].map((n) => `${n}:Unknown:drain-terminate`));
    expect(p.skipped.filter((s) => s.why.startsWith('cap reached'))).toHaveLength(6);
  });
  test('max-kill-nodes defaults to 1 (upstream README said 3; the code said 1)', () => {
    expect(plan(observe(cluster(20, sickOf(10)))).actions).toHaveLength(1);
  });
  test('per-ASG percentage cap', () => {
    const nodes = cluster(10, sickOf(6));
    const instances = nodes.map((n, i) => instance(`i-${n.metadata.name}`, { asg: i < 4 ? 'small' : 'big' }));
    const asgs = [
      asg(
        'small',
        instances.slice(0, 4).map((i) => i.instanceId),
      ),
      asg(
        'big',
        instances.slice(4).map((i) => i.instanceId),
      ),
    ];
    const p = plan(observe(nodes, { instances, asgs }), [
      '--max-kill-nodes=100',
      '--max-kill-percent=100',
      '--max-kill-percent-per-asg=50',
    ]);
    // small: 4 nodes, 4 sick, cap 2; big: 6 nodes, 2 sick (n4, n5), cap 3.
    expect(p.actions.filter((a) => a.asg === 'small')).toHaveLength(2);
    expect(p.actions.filter((a) => a.asg === 'big')).toHaveLength(2);
  });
  test('ghost deletions do not use the cap (the capacity is already gone)', () => {
    const nodes = cluster(4, { g1: {}, g2: {}, s: { ready: 'Unknown', since: 60 } });
    const instances = nodes
      .filter((n) => !n.metadata.name.startsWith('g'))
      .map((n) => instance(`i-${n.metadata.name}`));
    expect(
      plan(observe(nodes, { instances }))
        .actions.map((a) => a.action)
        .sort(),
    ).toEqual(['delete-node', 'delete-node', 'drain-terminate']);
  });
});

describe('ASG checks', () => {
  const nodes = () => cluster(3, { s: { ready: 'Unknown', since: 60 } });
  const ids = ['i-n0', 'i-n1', 'i-n2', 'i-s'];
  test('unstable ASG (desired != Healthy+InService) skips the node', () => {
    const group = asg('workers', ids);
    group.instances[0]!.lifecycleState = 'Pending';
    const p = plan(observe(nodes(), { asgs: [group] }));
    expect(p.actions).toEqual([]);
    expect(skippedWhy(p, 's')).toMatch(/not stable/);
  });
  test('suspended Terminate/Launch processes make it unstable', () => {
    const p = plan(observe(nodes(), { asgs: [asg('workers', ids, { suspendedProcesses: ['Launch'] })] }));
    expect(skippedWhy(p, 's')).toMatch(/suspended: Launch/);
  });
  test('--asg-validation=false ignores it', () => {
    const group = asg('workers', ids, { desiredCapacity: 9 });
    expect(plan(observe(nodes(), { asgs: [group] }), ['--asg-validation=false']).actions).toHaveLength(1);
  });
  test('no fight with upgrade-manager: an ASG with an in-progress instance is left to it', () => {
    const instances = ids.map((id) =>
      instance(id, id === 'i-n0' ? { tags: { 'upgrademgr.keikoproj.io/state': 'in-progress' } } : {}),
    );
    const p = plan(observe(nodes(), { instances }));
    expect(p.actions).toEqual([]);
    expect(skippedWhy(p, 's')).toMatch(/upgrade-manager is rolling ASG workers/);
  });
  test('Karpenter nodes: no ASG check, the Node is deleted after the drain', () => {
    const n = cluster(2, {
      k: {
        ready: 'Unknown',
        since: 60,
        labels: { 'karpenter.sh/registered': 'true', 'karpenter.sh/nodepool': 'default' },
      },
    });
    const instances = [instance('i-n0'), instance('i-n1'), instance('i-k', { asg: undefined })];
    expect(acted(plan(observe(n, { instances, asgs: [asg('workers', ['i-n0', 'i-n1'])] })))).toEqual([
      'k:Unknown:drain-delete-node',
    ]);
  });
});

describe('old nodes', () => {
  test('oldest first, with the old throttle', () => {
    const nodes = cluster(3, { a: { ageMinutes: 50_000 }, b: { ageMinutes: 60_000 } });
    const p = plan(observe(nodes), ['--reap-old', '--max-kill-nodes=2', '--max-kill-percent=100']);
    expect(acted(p)).toEqual(['b:Old:drain-terminate', 'a:Old:drain-terminate']);
    expect(p.actions[0]!.throttleSeconds).toBe(1800);
  });
  test('all-Ready gate holds even with --asg-validation=false (upstream: only with it)', () => {
    const nodes = cluster(3, { a: { ageMinutes: 50_000 }, down: { ready: 'Unknown', since: 2 } });
    const p = plan(observe(nodes), ['--reap-old', '--asg-validation=false']);
    expect(p.actions).toEqual([]);
    expect(skippedWhy(p, 'a')).toBe('not every node is Ready');
  });
  test('unhealthy nodes go before old ones', () => {
    const nodes = cluster(3, { a: { ageMinutes: 90_000 }, s: { ready: 'False', since: 20 } });
    expect(acted(plan(observe(nodes), ['--reap-old']))).toEqual(['s:NotReady:drain-terminate']);
  });
});

describe('unjoined instances', () => {
  const argv = ['--reap-unjoined', '--reap-unjoined-tag-key=team', '--reap-unjoined-tag-value=a'];
  test('a running tagged instance that never joined, past the threshold, is terminated', () => {
    const nodes = cluster(2);
    const unjoinedInstances = [
      instance('i-lost', { launchTime: minutesAgo(20) }),
      instance('i-young', { launchTime: minutesAgo(5) }),
      instance('i-n0', { launchTime: minutesAgo(600) }),
    ];
    expect(acted(plan(observe(nodes, { unjoinedInstances }), argv))).toEqual([
      'i-lost:Unjoined:terminate-instance',
    ]);
  });
  test('off by default', () => {
    const unjoinedInstances = [instance('i-lost', { launchTime: minutesAgo(20) })];
    expect(plan(observe(cluster(2), { unjoinedInstances })).actions).toEqual([]);
  });
});
