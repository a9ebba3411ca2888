/** Table tests of the pure planner: drift, batch size, batch order, the step machine, pauses. */
import { describe, expect, test } from '@jest/globals';
import { resolveMaxUnavailable } from '../src/planner/batch-size.js';
import { driftReason } from '../src/planner/drift.js';
import { planBatches, planRoll } from '../src/planner/plan.js';
import type {
  InstanceProgress,
  ObservedInstance,
  ObservedNode,
  PlanInput,
  RollSettings,
} from '../src/planner/types.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const LT = { id: 'lt-1', name: 'workers', version: '2' };

function instance(id: string, over: Partial<ObservedInstance> = {}): ObservedInstance {
  return {
    instanceId: id,
    availabilityZone: 'us-east-1a',
    lifecycleState: 'InService',
    instanceType: 'm5.large',
    launchTemplate: { id: 'lt-1', version: '1' },
    launchTime: at(-3600),
    ...over,
  };
}
const fresh = (id: string, launched = 10, over: Partial<ObservedInstance> = {}) =>
  instance(id, { launchTemplate: { id: 'lt-1', version: '2' }, launchTime: at(launched), ...over });
function node(id: string, over: Partial<ObservedNode> = {}): ObservedNode {
  return {
    name: `ip-${id}`,
    instanceId: id,
    ready: true,
    unschedulable: false,
    labels: {},
    createdAt: at(-3000),
    ...over,
  };
}
const settings = (over: Partial<RollSettings> = {}): RollSettings => ({
  mode: 'lazy',
  type: 'randomUpdate',
  maxUnavailable: 1,
  forceRefresh: false,
  readinessGates: [],
  nodeIntervalMs: 0,
  postDrainDelayMs: 0,
  replacementReadyTimeoutMs: 600_000,
  neverJoinedTimeoutMs: 600_000,
  neverJoinedAction: 'replace',
  ...over,
});
function input(instances: ObservedInstance[], over: Partial<PlanInput> = {}): PlanInput {
  const nodes = new Map(
    instances.filter((i) => i.lifecycleState !== 'Pending').map((i) => [i.instanceId, node(i.instanceId)]),
  );
  return {
    desiredCapacity: instances.length,
    instances,
    target: { launchTemplate: LT },
    nodes,
    settings: settings(),
    progress: [],
    createdAt: T0,
    startedAt: T0,
    now: at(60),
    surgeBudget: Number.POSITIVE_INFINITY,
    ...over,
  };
}
const stepsOf = (p: ReturnType<typeof planRoll>) => p.steps.map((s) => `${s.step}:${s.instanceId}`);
const rec = (instanceId: string, phase: InstanceProgress['phase']): InstanceProgress => ({
  instanceId,
  phase,
});

describe('driftReason', () => {
  const cases: [string, Partial<ObservedInstance>, PlanInput['target'], string | undefined][] = [
    [
      'same template id and version',
      { launchTemplate: { id: 'lt-1', version: '2' } },
      { launchTemplate: LT },
      undefined,
    ],
    [
      'older version',
      { launchTemplate: { id: 'lt-1', version: '1' } },
      { launchTemplate: LT },
      'launch template version 1 differs from 2',
    ],
    [
      'other template',
      { launchTemplate: { id: 'lt-9', version: '2' } },
      { launchTemplate: LT },
      'launch template lt-9 differs from workers',
    ],
    [
      'by name when ids unknown',
      { launchTemplate: { name: 'workers', version: '2' } },
      { launchTemplate: { name: 'workers', version: '2' } },
      undefined,
    ],
    [
      'no template on the instance',
      { launchTemplate: undefined },
      { launchTemplate: LT },
      'instance was not launched from a launch template',
    ],
    [
      'launch configuration differs',
      { launchConfigurationName: 'lc-1' },
      { launchConfigurationName: 'lc-2' },
      'launch configuration lc-1 differs from lc-2',
    ],
    [
      'launch configuration same',
      { launchConfigurationName: 'lc-2' },
      { launchConfigurationName: 'lc-2' },
      undefined,
    ],
    [
      'mixed-instances override by type',
      { instanceType: 'c5.large', launchTemplate: { id: 'lt-c', version: '3' } },
      { launchTemplate: LT, overrides: { 'c5.large': { id: 'lt-c', version: '4' } } },
      'launch template version 3 differs from 4',
    ],
  ];
  test.each(cases)('%s', (_name, over, target, want) => {
    expect(driftReason(instance('i-1', over), target, undefined, false, T0)).toBe(want);
  });

  test('forceRefresh replaces nodes older than the CR only', () => {
    const i = fresh('i-1');
    expect(driftReason(i, { launchTemplate: LT }, node('i-1', { createdAt: at(-1) }), true, T0)).toMatch(
      /forceRefresh/,
    );
    expect(
      driftReason(i, { launchTemplate: LT }, node('i-1', { createdAt: at(1) }), true, T0),
    ).toBeUndefined();
    expect(driftReason(i, { launchTemplate: LT }, undefined, true, T0)).toBeUndefined();
  });
});

describe('resolveMaxUnavailable', () => {
  test.each([
    [undefined, 6, 1],
    [0, 6, 1],
    [2, 6, 2],
    [10, 6, 6],
    ['3', 6, 3],
    ['20%', 6, 2],
    ['100%', 6, 6],
    ['1%', 600, 6],
    [2, 0, 1],
  ])('%p of %p -> %p', (value, desired, want) => {
    expect(resolveMaxUnavailable(value as number | string | undefined, desired)).toBe(want);
  });
  test.each([[-1], ['150%'], ['0%'], ['abc']])('%p is refused', (value) => {
    expect(() => resolveMaxUnavailable(value, 6)).toThrow(/maxUnavailable/);
  });
});

describe('planRoll, lazy', () => {
  const six = ['i-1', 'i-2', 'i-3', 'i-4', 'i-5', 'i-6'].map((id, n) =>
    instance(id, { availabilityZone: `us-east-1${'abc'[n % 3]}` }),
  );

  test('a first batch of maxUnavailable, drained at once', () => {
    const plan = planRoll(input(six, { settings: settings({ maxUnavailable: 2 }) }));
    expect(stepsOf(plan)).toEqual(['select:i-1', 'select:i-2']);
    expect(plan.drifted).toHaveLength(6);
    expect(plan.done).toBe(false);
  });

  test('uniformAcrossAzUpdate takes zones round-robin', () => {
    const plan = planRoll(
      input(six, { settings: settings({ maxUnavailable: 3, type: 'uniformAcrossAzUpdate' }) }),
    );
    expect(plan.steps.map((s) => s.availabilityZone)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
  });

  test('uniformAcrossAzUpdate keeps zones balanced across batches: the fullest zone goes first', () => {
    const zoneOf = new Map(six.map((i) => [i.instanceId, i.availabilityZone.slice(-1)]));
    const batches = planBatches(
      input(six, { settings: settings({ maxUnavailable: 2, type: 'uniformAcrossAzUpdate' }) }),
    );
    expect(batches.map((b) => b.map((id) => zoneOf.get(id)).join(''))).toEqual(['ab', 'ca', 'bc']);
  });

  test('booting replacements use the budget: no new batch until they are Ready', () => {
    const instances = [...six.slice(2), fresh('i-7'), fresh('i-8')];
    const nodes = new Map(six.slice(2).map((i) => [i.instanceId, node(i.instanceId)]));
    const progress = [rec('i-1', 'Terminated'), rec('i-2', 'Terminated')];
    const base = input(instances, { nodes, progress, settings: settings({ maxUnavailable: 2 }) });
    const waiting = planRoll(base);
    expect(stepsOf(waiting)).toEqual([]);
    expect(waiting.unavailable).toBe(2);
    expect(waiting.waiting).toMatch(/maxUnavailable/);
    // One replacement Ready: room for one more.
    nodes.set('i-7', node('i-7', { createdAt: at(20) }));
    expect(stepsOf(planRoll(base))).toEqual(['select:i-3']);
  });

  test('instances without a Ready node go first and cost no capacity', () => {
    const nodes = new Map(
      six.filter((i) => i.instanceId !== 'i-5').map((i) => [i.instanceId, node(i.instanceId)]),
    );
    nodes.set('i-6', node('i-6', { ready: false }));
    const plan = planRoll(input(six, { nodes, settings: settings({ maxUnavailable: 3 }) }));
    // i-5 (no node) and i-6 (NotReady) already count as unavailable: one more fits.
    expect(stepsOf(plan)).toEqual(['select:i-5', 'select:i-6', 'select:i-1']);
  });

  test('in-flight steps resume after a restart without repeating finished ones', () => {
    const instances = [six[0]!, six[1]!, six[2]!, fresh('i-7')];
    const progress = [
      rec('i-1', 'Draining'),
      rec('i-2', 'Terminating'),
      rec('i-3', 'Terminating'),
      rec('i-4', 'Terminating'),
    ];
    instances[2] = { ...six[2]!, lifecycleState: 'Terminating' };
    const plan = planRoll(
      input(instances, { progress, desiredCapacity: 6, settings: settings({ maxUnavailable: 4 }) }),
    );
    expect(stepsOf(plan).sort()).toEqual([
      'drain:i-1',
      'recordTerminated:i-3',
      'recordTerminated:i-4',
      'terminate:i-2',
    ]);
  });

  test('nodeIntervalSeconds holds the next batch', () => {
    const plan = planRoll(
      input(six, {
        lastTerminationTime: at(50),
        settings: settings({ maxUnavailable: 2, nodeIntervalMs: 30_000 }),
      }),
    );
    expect(plan.steps).toEqual([]);
    expect(plan.waiting).toMatch(/nodeIntervalSeconds/);
  });

  test('replacements that never become Ready pause the roll', () => {
    const instances = [...six.slice(1), fresh('i-7', 10)];
    const nodes = new Map(six.slice(1).map((i) => [i.instanceId, node(i.instanceId)]));
    const p = input(instances, {
      nodes,
      progress: [rec('i-1', 'Terminated')],
      settings: settings({ maxUnavailable: 2 }),
    });
    expect(stepsOf(planRoll(p))).toEqual(['select:i-2']); // still within the timeout and the budget
    const late = planRoll({ ...p, now: at(10 + 601) });
    expect(late.unreadyReplacements).toEqual(['i-7']);
    expect(late.steps).toEqual([]);
    expect(late.waiting).toMatch(/replacements not Ready: i-7/);
  });

  test('an instance on the current template that never joined is replaced, or fails the roll', () => {
    const instances = [fresh('i-1', -7200), fresh('i-2', -7200)];
    const nodes = new Map([['i-2', node('i-2')]]);
    const replace = planRoll(input(instances, { nodes }));
    expect(replace.drifted).toEqual([{ instanceId: 'i-1', reason: 'never joined the cluster' }]);
    expect(stepsOf(replace)).toEqual(['select:i-1']);
    const fail = planRoll(input(instances, { nodes, settings: settings({ neverJoinedAction: 'fail' }) }));
    expect(fail.neverJoined).toEqual(['i-1']);
    expect(fail.steps).toEqual([]);
  });

  test('done once nothing drifted, nothing in flight, every replacement Ready', () => {
    const instances = [fresh('i-7'), fresh('i-8')];
    expect(planRoll(input(instances)).done).toBe(true);
    const nodes = new Map([['i-7', node('i-7')]]);
    expect(planRoll(input(instances, { nodes })).done).toBe(false);
  });
});

describe('planRoll, eager', () => {
  const four = ['i-1', 'i-2', 'i-3', 'i-4'].map((id) => instance(id));
  const eager = settings({
    mode: 'eager',
    maxUnavailable: 2,
    readinessGates: [{ 'example.com/ready': 'yes' }],
  });

  test('select, then standby, then drain only when replacements are Ready and gated', () => {
    expect(stepsOf(planRoll(input(four, { settings: eager })))).toEqual(['select:i-1', 'select:i-2']);
    const progress = [rec('i-1', 'Selected'), rec('i-2', 'Selected')];
    const standing = [{ ...four[0]!, lifecycleState: 'Standby' }, four[1]!, four[2]!, four[3]!];
    expect(stepsOf(planRoll(input(standing, { progress, settings: eager })))).toEqual([
      'recordStandby:i-1',
      'enterStandby:i-2',
    ]);
    const inStandby = [
      { ...four[0]!, lifecycleState: 'Standby' },
      { ...four[1]!, lifecycleState: 'Standby' },
      four[2]!,
      four[3]!,
      fresh('i-7'),
      fresh('i-8'),
    ];
    const p = input(inStandby, {
      desiredCapacity: 4,
      progress: [rec('i-1', 'Standby'), rec('i-2', 'Standby')],
      settings: eager,
    });
    const notGated = planRoll(p);
    expect(notGated.steps).toEqual([]);
    expect(notGated.waiting).toMatch(/replacements/);
    const nodes = new Map(p.nodes);
    for (const id of ['i-7', 'i-8']) nodes.set(id, node(id, { labels: { 'example.com/ready': 'yes' } }));
    expect(stepsOf(planRoll({ ...p, nodes }))).toEqual(['drain:i-1', 'drain:i-2']);
  });

  test('the controller-wide surge budget caps the batch', () => {
    expect(stepsOf(planRoll(input(four, { settings: eager, surgeBudget: 1 })))).toEqual(['select:i-1']);
    expect(planRoll(input(four, { settings: eager, surgeBudget: 0 })).waiting).toMatch(/surge/);
  });
});

test('planBatches: the dry-run plan covers every drifted instance once', () => {
  const instances = ['i-1', 'i-2', 'i-3', 'i-4', 'i-5'].map((id) => instance(id));
  instances.push(fresh('i-9'));
  expect(planBatches(input(instances, { settings: settings({ maxUnavailable: 2 }) }))).toEqual([
    ['i-1', 'i-2'],
    ['i-3', 'i-4'],
    ['i-5'],
  ]);
});
