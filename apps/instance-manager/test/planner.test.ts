/**
 * Table tests of the pure planners: rollout, ASG diff, launch template, naming, user data, crd strategy,
 * aws-auth, node identity (aws-auth or EKS access entries).
 */
import { describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';
import type { EksSpec } from '../src/api/instancegroup.js';
import { parseConfig } from '../src/config.js';
import { AwsAuthInvalidError, planAwsAuth } from '../src/controller/aws-auth.js';
import { desiredAsg, diffAsg, isInSync, managedKeysValue, onDemandPercentage } from '../src/planner/asg.js';
import {
  concurrencyDecision,
  outcomeOf,
  renderTemplate,
  strategyResource,
} from '../src/planner/crd-strategy.js';
import { nodeLabels, osFamily } from '../src/planner/group.js';
import {
  desiredLaunchTemplateData,
  launchTemplateHash,
  versionsToPrune,
} from '../src/planner/launch-template.js';
import { groupNames, ownershipTags, resourcePrefix, TAG_MANAGED_KEYS } from '../src/planner/naming.js';
import {
  accessEntryType,
  isOurAccessEntry,
  nodeIdentityMode,
  planAccessEntryEnsure,
  planAccessEntryRelease,
} from '../src/planner/node-identity.js';
import { maxUnavailableCount, type ObservedInstance, planRollingUpdate } from '../src/planner/rollout.js';
import { kubeletFlags, renderUserData } from '../src/planner/user-data.js';

const ready = (name: string) => ({ name, ready: true, unschedulable: false });

describe('maxUnavailableCount', () => {
  test.each([
    [undefined, 10, 1],
    [0, 10, 1],
    [3, 10, 3],
    ['25%', 10, 3],
    ['25%', 4, 1],
    ['100%', 7, 7],
    ['0%', 7, 1],
  ])('%p of %p -> %p', (value, total, want) => {
    expect(maxUnavailableCount(value as number | string | undefined, total)).toBe(want);
  });
});

describe('planRollingUpdate', () => {
  const inst = (id: string, current: boolean, node?: ObservedInstance['node']): ObservedInstance => ({
    id,
    current,
    ...(node ? { node } : {}),
  });
  test.each<[string, ObservedInstance[], number, number, string[], boolean]>([
    ['all current: nothing', [inst('a', true, ready('na'))], 1, 1, [], false],
    ['one at a time', [inst('a', false, ready('na')), inst('b', false, ready('nb'))], 2, 1, ['a'], true],
    [
      'budget of two',
      [inst('a', false, ready('na')), inst('b', false, ready('nb')), inst('c', false, ready('nc'))],
      3,
      2,
      ['a', 'b'],
      true,
    ],
    [
      'a replacement not ready yet uses the budget',
      [inst('a', true), inst('b', false, ready('nb'))],
      2,
      1,
      [],
      true,
    ],
    [
      'a cordoned outdated instance is finished first, even with no budget left',
      [inst('a', false, { name: 'na', ready: true, unschedulable: true }), inst('b', false, ready('nb'))],
      2,
      1,
      ['a'],
      true,
    ],
    [
      'an outdated instance that never joined is replaced at once',
      [inst('a', false), inst('b', false, ready('nb'))],
      2,
      1,
      ['a'],
      true,
    ],
    ['missing capacity counts as unavailable', [inst('a', false, ready('na'))], 2, 1, [], true],
  ])('%s', (_name, instances, desiredCapacity, maxUnavailable, want, waits) => {
    const plan = planRollingUpdate({ instances, desiredCapacity, maxUnavailable });
    expect(plan.replace.map((r) => r.id)).toEqual(want);
    expect(plan.waiting !== undefined).toBe(waits);
  });
});

const eks: EksSpec = {
  minSize: 1,
  maxSize: 3,
  configuration: {
    clusterName: 'prod',
    image: 'ami-1',
    instanceType: 'm5.large',
    subnets: ['s'],
    securityGroups: ['sg-1'],
    tags: [{ key: 'team', value: 'a' }],
    suspendProcesses: ['AZRebalance'],
    metricsCollection: ['all'],
    lifecycleHooks: [{ name: 'drain', lifecycle: 'terminate' }],
  },
};
const ref = { clusterName: 'prod', namespace: 'ns', name: 'ig' };
const desired = desiredAsg({
  ref,
  asgName: 'prod-ns-ig',
  eks,
  labels: { a: 'b' },
  taints: [],
  annotations: {},
  subnetIds: ['subnet-2', 'subnet-1'],
  launchTemplate: { id: 'lt-1', version: '2' },
});

describe('desiredAsg / diffAsg', () => {
  test('desired group', () => {
    expect(desired).toMatchObject({
      minSize: 1,
      maxSize: 3,
      subnetIds: ['subnet-1', 'subnet-2'],
      suspendedProcesses: ['AZRebalance'],
    });
    expect(desired.metrics).toHaveLength(13);
    expect(desired.tags).toMatchObject({
      team: 'a',
      'kubernetes.io/cluster/prod': 'owned',
      'instancegroups.keikoproj.io/InstanceGroup': 'ig',
    });
    expect(desired.lifecycleHooks[0]).toMatchObject({
      transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      defaultResult: 'ABANDON',
      heartbeatTimeout: 300,
    });
  });
  const inSync = {
    MinSize: 1,
    MaxSize: 3,
    VPCZoneIdentifier: 'subnet-2,subnet-1',
    LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '2' },
    Tags: Object.entries({ ...desired.tags, [TAG_MANAGED_KEYS]: managedKeysValue(desired.tags) }).map(
      ([Key, Value]) => ({
        Key,
        Value,
        PropagateAtLaunch: true,
      }),
    ),
    SuspendedProcesses: [{ ProcessName: 'AZRebalance' }],
    EnabledMetrics: desired.metrics.map((Metric) => ({ Metric })),
  };
  const hooks = [
    {
      name: 'drain',
      transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      defaultResult: 'ABANDON',
      heartbeatTimeout: 300,
    },
  ];
  test('in sync: no write at all', () => {
    expect(isInSync(diffAsg(desired, inSync, hooks))).toBe(true);
  });
  test.each<[string, Record<string, unknown>, Partial<ReturnType<typeof diffAsg>>]>([
    ['max changed', { MaxSize: 5 }, { update: true }],
    [
      'new template version',
      { LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '1' } },
      { update: true },
    ],
    ['a process resumed by hand', { SuspendedProcesses: [] }, { suspend: ['AZRebalance'] }],
    [
      'an extra suspended process',
      { SuspendedProcesses: [{ ProcessName: 'AZRebalance' }, { ProcessName: 'Launch' }] },
      { resume: ['Launch'] },
    ],
  ])('%s', (_n, patch, want) => {
    expect(diffAsg(desired, { ...inSync, ...patch }, hooks)).toMatchObject(want);
  });
  test('only tags it wrote before are deleted; foreign tags stay', () => {
    const observed = {
      ...inSync,
      Tags: [
        ...inSync.Tags.filter((t) => t.Key !== TAG_MANAGED_KEYS),
        { Key: TAG_MANAGED_KEYS, Value: `${managedKeysValue(desired.tags)},old`, PropagateAtLaunch: true },
        { Key: 'old', Value: 'x', PropagateAtLaunch: true },
        { Key: 'foreign', Value: 'y', PropagateAtLaunch: false },
      ],
    };
    const c = diffAsg(desired, observed, hooks);
    expect(c.deleteTags).toEqual(['old']);
    expect(Object.keys(c.setTags)).toEqual([TAG_MANAGED_KEYS]);
  });
  test('hooks added and removed', () => {
    const c = diffAsg(desired, inSync, [{ name: 'other', transition: 'x' }]);
    expect(c.putHooks.map((h) => h.name)).toEqual(['drain']);
    expect(c.deleteHooks).toEqual(['other']);
  });
  test.each([
    [undefined, 100],
    [0, 100],
    [60, 40],
    ['60%', 40],
    ['100%', 0],
  ])('spotRatio %p -> on-demand %p%%', (r, want) => {
    expect(onDemandPercentage(r as number | string | undefined)).toBe(want);
  });
});

describe('launch template', () => {
  const facts = { imageId: 'ami-1', securityGroupIds: ['sg-2', 'sg-1'], userData: 'x' };
  test('IMDSv2, default root volume, sorted groups', () => {
    const d = desiredLaunchTemplateData(eks.configuration, facts);
    expect(d.MetadataOptions).toEqual({
      HttpEndpoint: 'enabled',
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
    });
    expect(d.BlockDeviceMappings).toEqual([
      { DeviceName: '/dev/xvda', Ebs: { VolumeType: 'gp2', VolumeSize: 32, DeleteOnTermination: true } },
    ]);
    expect(d.SecurityGroupIds).toEqual(['sg-1', 'sg-2']);
  });
  test('gp3 volume with iops and throughput', () => {
    const d = desiredLaunchTemplateData(
      {
        ...eks.configuration,
        volumes: [{ name: '/dev/xvda', type: 'gp3', size: 80, iops: 3000, throughput: 250, encrypted: true }],
      },
      facts,
    );
    expect(d.BlockDeviceMappings?.[0]?.Ebs).toMatchObject({
      VolumeType: 'gp3',
      Iops: 3000,
      Throughput: 250,
      Encrypted: true,
    });
  });
  test('hash is stable and sensitive', () => {
    const a = desiredLaunchTemplateData(eks.configuration, facts);
    const b = desiredLaunchTemplateData(eks.configuration, { ...facts, securityGroupIds: ['sg-1', 'sg-2'] });
    const c = desiredLaunchTemplateData({ ...eks.configuration, instanceType: 'm5.xlarge' }, facts);
    expect(launchTemplateHash(a)).toBe(launchTemplateHash(b));
    expect(launchTemplateHash(a)).not.toBe(launchTemplateHash(c));
  });
  test.each<[number[], number | undefined, number, number[]]>([
    [[1, 2, 3, 4, 5], 5, 2, [1, 2]],
    [[1, 2], 2, 2, []],
    [[1, 2, 3, 4], 2, 0, [1, 3]],
  ])('prune %p default %p retain %p -> %p', (versions, defaultVersion, retain, want) => {
    expect(versionsToPrune(versions, { defaultVersion }, retain)).toEqual(want);
  });
});

describe('naming, labels, user data', () => {
  test('prefix and md5 beyond 63 characters', () => {
    expect(resourcePrefix(ref)).toBe('prod-ns-ig');
    expect(resourcePrefix({ ...ref, name: 'x'.repeat(70) })).toMatch(/^[0-9a-f]{32}$/);
    expect(groupNames(ref).autoScalingGroup).toBe('prod-ns-ig');
  });
  test('labels: role, lifecycle, image, user labels win', () => {
    expect(nodeLabels('ig', {}, { ...eks.configuration, labels: { team: 'a' } }, 'ami-1')).toEqual({
      'node.kubernetes.io/role': 'ig',
      'instancemgr.keikoproj.io/lifecycle': 'normal',
      'instancemgr.keikoproj.io/image': 'ami-1',
      team: 'a',
    });
  });
  test('os family: annotation, NodeConfigYaml forces AL2023', () => {
    expect(osFamily({ 'instancemgr.keikoproj.io/os-family': 'bottlerocket' }, eks.configuration)).toBe(
      'bottlerocket',
    );
    expect(
      osFamily(
        { 'instancemgr.keikoproj.io/os-family': 'bottlerocket' },
        { ...eks.configuration, userData: [{ stage: 'NodeConfigYaml', data: 'x' }] },
      ),
    ).toBe('amazonlinux2023');
  });
  const input = {
    cluster: {
      name: 'prod',
      endpoint: 'https://k',
      certificateAuthority: 'Q0E=',
      serviceCidr: '172.20.0.0/16',
    },
    labels: { a: 'b' },
    taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' as const }],
    maxPods: 50,
    kubeletArgs: '--v=2',
    stages: [
      { stage: 'PreBootstrap', data: 'echo pre' },
      { stage: 'PostBootstrap', data: Buffer.from('echo post').toString('base64') },
    ],
  };
  test('kubelet flags', () => {
    expect(kubeletFlags({ ...input, family: 'amazonlinux2023' })).toEqual([
      '--node-labels=a=b',
      '--register-with-taints=k=v:NoSchedule',
      '--max-pods=50',
      '--v=2',
    ]);
  });
  test.each([
    [
      'amazonlinux2023',
      ['apiVersion: node.eks.aws/v1alpha1', '- "--node-labels=a=b"', 'echo pre', 'echo post'],
    ],
    [
      'amazonlinux2',
      [
        '/etc/eks/bootstrap.sh prod',
        "--kubelet-extra-args '--node-labels=a=b --register-with-taints=k=v:NoSchedule",
        '--dns-cluster-ip 172.20.0.10',
        'echo post',
      ],
    ],
    [
      'bottlerocket',
      ['[settings.kubernetes.node-labels]', '"a" = "b"', '"k" = "v:NoSchedule"', 'max-pods = 50'],
    ],
  ] as const)('%s user data', (family, parts) => {
    const text = renderUserData({ ...input, family });
    for (const p of parts) expect(text).toContain(p);
  });
});

describe('crd strategy', () => {
  const group = {
    metadata: { name: 'ig', namespace: 'ns' },
    status: { activeScalingGroupName: 'prod-ns-ig' },
  };
  test('Go-template fields resolve like upstream', () => {
    expect(
      renderTemplate(
        'asg: {{ .InstanceGroup.Status.ActiveScalingGroupName }} ns: {{.InstanceGroup.Namespace}} n: {{ .InstanceGroup.ObjectMeta.Name }}',
        group,
      ),
    ).toBe('asg: prod-ns-ig ns: ns n: ig');
  });
  test('resource name per template version; labels for scope', () => {
    const r = strategyResource(
      'apiVersion: upgrademgr.keikoproj.io/v1alpha1\nkind: RollingUpgrade\nmetadata:\n  name: roll\nspec:\n  asgName: {{ .InstanceGroup.Status.ActiveScalingGroupName }}\n',
      group,
      'prod-ns-ig',
      'lt-1',
      '3',
    );
    expect(r.metadata).toMatchObject({ name: 'roll-lt-1-3', namespace: 'default' });
    expect(r.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('instance-manager');
    expect((r as unknown as { spec: { asgName: string } }).spec.asgName).toBe('prod-ns-ig');
  });
  const s = {
    statusJSONPath: '.status.currentStatus',
    statusSuccessString: 'completed',
    statusFailureString: 'error',
  };
  test.each([
    [{ status: { currentStatus: 'completed' } }, 'succeeded'],
    [{ status: { currentStatus: 'error' } }, 'failed'],
    [{ status: { currentStatus: 'running' } }, 'running'],
    [{}, 'running'],
  ])('status %p -> %p', (obj, want) => {
    expect(outcomeOf(obj, s)).toBe(want);
  });
  test.each([
    ['forbid', ['a'], 'wait'],
    [undefined, ['a'], 'wait'],
    ['replace', ['a'], 'delete'],
    ['allow', ['a'], 'create'],
    ['forbid', [], 'create'],
  ] as const)('%p with %p active -> %p', (policy, active, want) => {
    expect(concurrencyDecision(policy, [...active]).action).toBe(want);
  });
});

describe('planAwsAuth', () => {
  const A = 'arn:aws:iam::123456789012:role/a';
  const SHARED = 'arn:aws:iam::123456789012:role/shared';
  const FOREIGN = 'arn:aws:iam::123456789012:role/someone-else';
  const foreignYaml = `- rolearn: ${FOREIGN}\n  username: x\n  groups: [system:masters]\n`;
  const arns = (m: { rolearn: string }[]) => m.map((r) => r.rolearn);

  test('adds a mapping once and records who needs it; foreign entries untouched', () => {
    const first = planAwsAuth(foreignYaml, {}, { group: 'ns1/a', roleArn: A, present: true });
    expect(first.changed).toBe(true);
    expect(arns(first.mapRoles)).toEqual([FOREIGN, A]);
    expect(first.mapRoles[0]).toEqual({ rolearn: FOREIGN, username: 'x', groups: ['system:masters'] });
    expect(first.mapRoles[1]).toMatchObject({ groups: ['system:bootstrappers', 'system:nodes'] });
    expect(first.owned).toEqual({ [A]: ['ns1/a'] });
    const again = planAwsAuth(stringify(first.mapRoles), first.owned, {
      group: 'ns1/a',
      roleArn: A,
      present: true,
    });
    expect(again.changed).toBe(false);
  });

  test('a shared role stays mapped until the last group that needs it goes', () => {
    let state = { yaml: foreignYaml, owned: {} as Record<string, string[]> };
    const step = (group: string, present: boolean) => {
      const p = planAwsAuth(state.yaml, state.owned, { group, roleArn: SHARED, present });
      state = { yaml: stringify(p.mapRoles), owned: p.owned };
      return p;
    };
    step('ns1/a', true);
    expect(arns(step('ns2/b', true).mapRoles)).toEqual([FOREIGN, SHARED]);
    expect(state.owned).toEqual({ [SHARED]: ['ns1/a', 'ns2/b'] });
    const oneLeft = step('ns1/a', false);
    expect(arns(oneLeft.mapRoles)).toEqual([FOREIGN, SHARED]);
    expect(oneLeft.owned).toEqual({ [SHARED]: ['ns2/b'] });
    const none = step('ns2/b', false);
    expect(arns(none.mapRoles)).toEqual([FOREIGN]);
    expect(none.owned).toEqual({});
  });

  test('a mapping someone else wrote is never claimed nor removed', () => {
    const add = planAwsAuth(foreignYaml, {}, { group: 'ns1/a', roleArn: FOREIGN, present: true });
    expect(add.changed).toBe(false);
    expect(add.owned).toEqual({});
    const remove = planAwsAuth(foreignYaml, {}, { group: 'ns1/a', roleArn: FOREIGN, present: false });
    expect(remove.changed).toBe(false);
    expect(arns(remove.mapRoles)).toEqual([FOREIGN]);
  });

  test('empty, blank and `[]` mapRoles read as no mappings', () => {
    for (const yaml of [undefined, '', '  \n', '[]\n']) {
      expect(arns(planAwsAuth(yaml, {}, { group: 'ns1/a', roleArn: A, present: true }).mapRoles)).toEqual([
        A,
      ]);
    }
  });

  test('a mapRoles that is not a YAML list is refused by name, not rewritten', () => {
    // What appending text to `[]` gives (the CI failure that found this).
    const appended = `[]\n- rolearn: ${FOREIGN}\n  username: x\n`;
    const change = { group: 'ns1/a', roleArn: A, present: true };
    expect(() => planAwsAuth(appended, {}, change)).toThrow(AwsAuthInvalidError);
    expect(() => planAwsAuth(appended, {}, change)).toThrow(
      /kube-system\/aws-auth data\.mapRoles is not valid YAML/,
    );
    expect(() => planAwsAuth('rolearn: x\n', {}, change)).toThrow(/must be a YAML list/);
    expect(() => planAwsAuth('- just-a-string\n', {}, change)).toThrow(/must be a YAML list/);
  });
});

describe('node identity', () => {
  const clusterName = 'prod';
  test.each([
    // requested, --node-identity, authenticationMode -> mode or error reason
    [undefined, 'auto', undefined, 'aws-auth'],
    [undefined, 'auto', 'CONFIG_MAP', 'aws-auth'],
    [undefined, 'auto', 'API_AND_CONFIG_MAP', 'aws-auth'],
    [undefined, 'auto', 'API', 'access-entry'],
    [undefined, 'access-entry', 'API_AND_CONFIG_MAP', 'access-entry'],
    [undefined, 'access-entry', undefined, 'access-entry'],
    [undefined, 'access-entry', 'CONFIG_MAP', 'error:AccessEntriesUnsupported'],
    [undefined, 'aws-auth', 'API', 'error:AwsAuthUnsupported'],
    ['access-entry', 'aws-auth', 'API_AND_CONFIG_MAP', 'access-entry'],
    ['aws-auth', 'access-entry', 'API_AND_CONFIG_MAP', 'aws-auth'],
    ['aws-auth', 'auto', 'API', 'error:AwsAuthUnsupported'],
    ['access-entry', 'auto', 'CONFIG_MAP', 'error:AccessEntriesUnsupported'],
  ] as const)('requested %s, default %s, cluster %s -> %s', (requested, controllerDefault, auth, want) => {
    const d = nodeIdentityMode({ requested, controllerDefault, authenticationMode: auth, clusterName });
    if ('error' in d) {
      expect(`error:${d.error.reason}`).toBe(want);
      expect(d.error.message).toContain(`nodeIdentity ${requested ?? controllerDefault}`);
      expect(d.error.message).toContain(auth);
    } else expect(d.mode).toBe(want);
  });

  test('entry type follows the OS family', () => {
    expect(accessEntryType('windows')).toBe('EC2_WINDOWS');
    for (const f of ['amazonlinux2', 'amazonlinux2023', 'bottlerocket'] as const)
      expect(accessEntryType(f)).toBe('EC2_LINUX');
  });

  const ours = ownershipTags({ clusterName, namespace: 'ns1', name: 'a' });
  const otherCluster = ownershipTags({ clusterName: 'staging', namespace: 'ns1', name: 'a' });
  test.each([
    ['no entry -> create', undefined, 'create'],
    ['ours (any group of the cluster) -> adopt', { tags: ours }, 'adopt'],
    ['untagged -> use-foreign', { tags: {} }, 'use-foreign'],
    ['no tags at all -> use-foreign', {}, 'use-foreign'],
    ['tagged for another cluster -> use-foreign', { tags: otherCluster }, 'use-foreign'],
    [
      'only the cluster tag -> use-foreign',
      { tags: { 'instancegroups.keikoproj.io/ClusterName': clusterName } },
      'use-foreign',
    ],
  ] as const)('ensure: %s', (_what, existing, want) => {
    expect(planAccessEntryEnsure(existing, clusterName)).toBe(want);
  });

  test.each([
    ['gone already -> absent', undefined, 0, 'absent'],
    ['ours, last user -> delete', { tags: ours }, 0, 'delete'],
    ['ours, another group uses the role -> keep-shared', { tags: ours }, 1, 'keep-shared'],
    ['foreign, last user -> keep-foreign', { tags: { team: 'platform' } }, 0, 'keep-foreign'],
    ['foreign, others too -> keep-foreign', { tags: {} }, 2, 'keep-foreign'],
    ['another cluster tags -> keep-foreign', { tags: otherCluster }, 0, 'keep-foreign'],
  ] as const)('release: %s', (_what, existing, users, want) => {
    expect(planAccessEntryRelease(existing, clusterName, users)).toBe(want);
  });

  test('ownership needs all three tags of this cluster', () => {
    expect(isOurAccessEntry(ours, clusterName)).toBe(true);
    expect(isOurAccessEntry(ours, 'staging')).toBe(false);
    expect(isOurAccessEntry({ ...ours, 'instancegroups.keikoproj.io/InstanceGroup': '' }, clusterName)).toBe(
      false,
    );
    expect(isOurAccessEntry(undefined, clusterName)).toBe(false);
  });
});

describe('--node-identity', () => {
  test.each([
    [[], 'auto'],
    [['--node-identity=aws-auth'], 'aws-auth'],
    [['--node-identity', 'access-entry'], 'access-entry'],
  ])('%j -> %s', (argv, want) => {
    expect(parseConfig(argv, {}).nodeIdentity).toBe(want);
  });
  test('anything else is refused, naming the flag', () => {
    expect(() => parseConfig(['--node-identity=configmap'], {})).toThrow(
      '--node-identity must be auto, aws-auth or access-entry, got configmap',
    );
  });
});
