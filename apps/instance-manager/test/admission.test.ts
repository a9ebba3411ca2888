/**
 * Admission on the real API server: bad input is refused with a message naming the field; the
 * upstream samples apply unchanged; `kubectl get ig` columns are upstream's.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { KubeClient } from '@keiko/operator-kit';
import {
  createTestNamespace,
  deleteTestNamespace,
  installCrds,
  parseManifests,
  testKubeConfig,
} from '@keiko/testkit';
import { type InstanceGroup, InstanceGroups } from '../src/api/instancegroup.js';
import { UPSTREAM_SAMPLES } from './samples.js';
import { CRD_FILE } from './support.js';

const DOCS = fileURLToPath(new URL('../../../docs/instance-manager.md', import.meta.url));
const kc = testKubeConfig();
let client: KubeClient;
let namespace: string;

beforeAll(async () => {
  await installCrds(kc, CRD_FILE);
  client = await KubeClient.fromKubeConfig(kc, 'instance-manager-test');
  namespace = await createTestNamespace(kc, 'im-adm');
});
afterAll(async () => {
  await deleteTestNamespace(kc, namespace);
  client?.transport.close();
});

function base(name: string): InstanceGroup {
  return {
    apiVersion: 'instancemgr.keikoproj.io/v1alpha1',
    kind: 'InstanceGroup',
    metadata: { name, namespace },
    spec: {
      provisioner: 'eks',
      eks: {
        minSize: 1,
        maxSize: 2,
        configuration: {
          clusterName: 'c',
          image: 'ami-1',
          instanceType: 'm5.large',
          subnets: ['subnet-1'],
          securityGroups: ['sg-1'],
        },
      },
    },
  };
}
type Mutate = (ig: InstanceGroup) => void;
const cfg = (ig: InstanceGroup) => ig.spec.eks!.configuration;

describe('bad input is refused at admission, naming the field', () => {
  test.each<[string, Mutate, RegExp]>([
    ['eks block missing', (ig) => delete ig.spec.eks, /spec\.eks is required when provisioner is eks/],
    [
      'unknown provisioner',
      (ig) => Object.assign(ig.spec, { provisioner: 'gke' }),
      /spec\.provisioner: Unsupported value/,
    ],
    [
      'min > max',
      (ig) => Object.assign(ig.spec.eks!, { minSize: 3, maxSize: 2 }),
      /spec\.eks\.minSize: Invalid value.*minSize must not exceed maxSize/,
    ],
    [
      'nodeIdentity',
      (ig) => Object.assign(cfg(ig), { nodeIdentity: 'iam-identity-mapping' }),
      /spec\.eks\.configuration\.nodeIdentity: Unsupported value: "iam-identity-mapping"/,
    ],
    [
      'volume type',
      (ig) => Object.assign(cfg(ig), { volumes: [{ name: '/dev/xvda', type: 'gp9' }] }),
      /spec\.eks\.configuration\.volumes\[0\]\.type: Unsupported value: "gp9"/,
    ],
    [
      'iops on gp2',
      (ig) => Object.assign(cfg(ig), { volumes: [{ name: '/dev/xvda', type: 'gp2', iops: 3000 }] }),
      /volumes\[0\]\.iops.*iops is only valid for volume types io1, io2 and gp3/,
    ],
    [
      'iops below 100',
      (ig) => Object.assign(cfg(ig), { volumes: [{ name: '/dev/xvda', type: 'gp3', iops: 50 }] }),
      /volumes\[0\]\.iops: Invalid value: 50/,
    ],
    [
      'spot ratio over 100%',
      (ig) =>
        Object.assign(cfg(ig), {
          mixedInstancesPolicy: { instancePool: 'SubFamilyFlexible', spotRatio: '150%' },
        }),
      /mixedInstancesPolicy\.spotRatio.*spotRatio must be between 0 and 100/,
    ],
    [
      'spot ratio over 100',
      (ig) =>
        Object.assign(cfg(ig), {
          mixedInstancesPolicy: { instancePool: 'SubFamilyFlexible', spotRatio: 101 },
        }),
      /mixedInstancesPolicy\.spotRatio.*spotRatio must be between 0 and 100/,
    ],
    [
      'instancePool and instanceTypes',
      (ig) =>
        Object.assign(cfg(ig), {
          mixedInstancesPolicy: { instancePool: 'SubFamilyFlexible', instanceTypes: [{ type: 'm5.xlarge' }] },
        }),
      /mixedInstancesPolicy\.instancePool.*exactly one of instancePool and instanceTypes/,
    ],
    [
      'neither instancePool nor instanceTypes',
      (ig) => Object.assign(cfg(ig), { mixedInstancesPolicy: { spotRatio: 50 } }),
      /exactly one of instancePool and instanceTypes/,
    ],
    [
      'crd strategy without crd',
      (ig) => Object.assign(ig.spec, { strategy: { type: 'crd' } }),
      /spec\.strategy\.crd.*strategy\.crd is required when strategy\.type is crd/,
    ],
    [
      'maxUnavailable not a percentage',
      (ig) => Object.assign(ig.spec, { strategy: { rollingUpdate: { maxUnavailable: 'half' } } }),
      /spec\.strategy\.rollingUpdate\.maxUnavailable.*non-negative count or a percentage/,
    ],
    [
      'no subnets',
      (ig) => Object.assign(cfg(ig), { subnets: [] }),
      /spec\.eks\.configuration\.subnets: Invalid value.*at least 1/,
    ],
    [
      'missing image',
      (ig) => delete (cfg(ig) as { image?: string }).image,
      /spec\.eks\.configuration\.image: Required value/,
    ],
    [
      'bad taint effect',
      (ig) => Object.assign(cfg(ig), { taints: [{ key: 'k', effect: 'Sometimes' }] }),
      /taints\[0\]\.effect: Unsupported value/,
    ],
    [
      'warm pool with mixed instances',
      (ig) =>
        Object.assign(
          ig.spec.eks!,
          { warmPool: { minSize: 0 } },
          { configuration: { ...cfg(ig), mixedInstancesPolicy: { instancePool: 'SubFamilyFlexible' } } },
        ),
      /spec\.eks\.warmPool.*warmPool cannot be combined/,
    ],
  ])('%s', async (_name, mutate, message) => {
    const ig = base(`bad-${Math.random().toString(36).slice(2, 8)}`);
    mutate(ig);
    await expect(client.create(InstanceGroups, ig)).rejects.toThrow(message);
  });

  test('a valid group is accepted', async () => {
    await client.create(InstanceGroups, base('good'));
    await client.delete(InstanceGroups, 'good', namespace);
  });
});

/** The YAML blocks of the docs' "Upstream samples" section, as a reader copies them. */
function docsSamples(): [string, string][] {
  const doc = readFileSync(DOCS, 'utf8');
  const start = doc.indexOf('\n## Upstream samples');
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end);
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m, i) => [`docs #${i + 1}`, m[1]!]);
}

test('upstream sample CRs apply unchanged (test set and the docs, as written)', async () => {
  const fromDocs = docsSamples();
  expect(fromDocs.length).toBeGreaterThanOrEqual(2);
  for (const [name, text] of [...Object.entries(UPSTREAM_SAMPLES), ...fromDocs]) {
    const [manifest] = parseManifests(text);
    const obj = {
      ...manifest,
      metadata: {
        ...manifest!.metadata,
        name: `${manifest!.metadata.name}-${name.replace(/\W+/g, '')}`.toLowerCase(),
        namespace,
      },
    } as unknown as InstanceGroup;
    const created = await client.create(InstanceGroups, obj);
    expect({ name, spec: created.spec }).toEqual({ name, spec: obj.spec });
  }
});

test('printer columns and short name are upstream', async () => {
  const crd = (await client.transport.request(
    'GET',
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/instancegroups.instancemgr.keikoproj.io',
  )) as {
    spec: {
      names: { shortNames: string[] };
      versions: { additionalPrinterColumns: { name: string; jsonPath: string }[] }[];
    };
  };
  expect(crd.spec.names.shortNames).toEqual(['ig']);
  expect(crd.spec.versions[0]!.additionalPrinterColumns.map((c) => `${c.name}=${c.jsonPath}`)).toEqual([
    'State=.status.currentState',
    'Min=.status.currentMin',
    'Max=.status.currentMax',
    'Group Name=.status.activeScalingGroupName',
    'Provisioner=.status.provisioner',
    'Strategy=.status.strategy',
    'Lifecycle=.status.lifecycle',
    'Age=.metadata.creationTimestamp',
  ]);
});
