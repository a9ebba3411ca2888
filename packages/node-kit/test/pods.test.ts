import { describe, expect, test } from '@jest/globals';
import { MIRROR_POD_ANNOTATION, type Pod, podsToEvict } from '../src/pods.js';

const pod = (
  name: string,
  extra: Partial<Pod['metadata']> = {},
  spec: Pod['spec'] = {},
  phase = 'Running',
): Pod => ({
  metadata: { name, namespace: 'ns', uid: name, ...extra },
  spec,
  status: { phase },
});
const owned = (kind: string) => ({
  ownerReferences: [{ apiVersion: 'apps/v1', kind, name: 'o', uid: 'u', controller: true }],
});

describe('podsToEvict', () => {
  const pods: Pod[] = [
    pod('web', owned('ReplicaSet')),
    pod('agent', owned('DaemonSet')),
    pod('static', { annotations: { [MIRROR_POD_ANNOTATION]: 'x' } }),
    pod('bare'),
    pod('cache', owned('ReplicaSet'), { volumes: [{ name: 'tmp', emptyDir: {} }] }),
    pod('leaving', { ...owned('ReplicaSet'), deletionTimestamp: '2026-01-01T00:00:00Z' }),
    pod('job-done', owned('Job'), {}, 'Succeeded'),
  ];

  test('defaults (upgrade-manager: ignore DaemonSets, delete emptyDir data, force)', () => {
    const s = podsToEvict(pods);
    expect(s.evict.map((p) => p.metadata.name)).toEqual(['web', 'bare', 'cache', 'job-done']);
    expect(s.skip).toEqual([
      { pod: 'ns/agent', reason: 'DaemonSetPod' },
      { pod: 'ns/static', reason: 'MirrorPod' },
    ]);
    expect(s.terminating.map((p) => p.metadata.name)).toEqual(['leaving']);
    expect(s.refuse).toEqual([]);
  });

  test('strict options refuse what kubectl drain refuses without flags', () => {
    const s = podsToEvict(pods, { ignoreDaemonSets: false, deleteEmptyDirData: false, force: false });
    expect(s.evict.map((p) => p.metadata.name)).toEqual(['web', 'job-done']);
    expect(s.refuse).toEqual([
      { pod: 'ns/agent', reason: 'DaemonSetPod' },
      { pod: 'ns/bare', reason: 'Unmanaged' },
      { pod: 'ns/cache', reason: 'EmptyDirData' },
    ]);
  });
});
