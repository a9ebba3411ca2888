/**
 * The PodCheckpoint API on the real API server: upstream's sample manifest applies unchanged, and bad
 * input is refused at admission with a message naming the field.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { applyManifests, createTestNamespace, parseManifests, testKubeConfig } from '@keiko/testkit';
import { PodCheckpoints } from '../src/api/podcheckpoint.js';
import { createCheckpoint, kubeClient } from './support.js';

let client: KubeClient;
let namespace: string;

beforeAll(async () => {
  client = await kubeClient();
  namespace = await createTestNamespace(testKubeConfig(), 'kf-api');
});
afterAll(() => client.transport.close());

// kube-forensics:config/samples/forensics_v1alpha1_podcheckpoint.yaml, upstream's README example.
const UPSTREAM_SAMPLE = `
apiVersion: forensics.keikoproj.io/v1alpha1
kind: PodCheckpoint
metadata:
  name: podcheckpoint-sample
spec:
  destination: s3://my-bucket-name
  subpath: forensics
  pod: bad-pod
  namespace: default
`;

async function rejection(spec: Record<string, unknown>): Promise<string> {
  try {
    await client.create(PodCheckpoints, {
      apiVersion: 'forensics.keikoproj.io/v1alpha1',
      kind: 'PodCheckpoint',
      metadata: { generateName: 'bad-', namespace },
      spec,
    });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(spec)}`);
}

describe('PodCheckpoint admission', () => {
  test("upstream's sample applies unchanged and keeps its fields", async () => {
    const [applied] = await applyManifests(testKubeConfig(), parseManifests(UPSTREAM_SAMPLE), { namespace });
    expect(applied!.spec).toEqual({
      destination: 's3://my-bucket-name',
      subpath: 'forensics',
      pod: 'bad-pod',
      namespace: 'default',
    });
  });

  test.each([
    [
      'no scheme',
      { pod: 'p', destination: 'my-bucket' },
      'spec.destination: Invalid value',
      'destination must be s3://bucket[/prefix]',
    ],
    [
      'another scheme',
      { pod: 'p', destination: 'gs://my-bucket/x' },
      'spec.destination',
      'destination must be s3://bucket[/prefix]',
    ],
    [
      'an upper-case bucket',
      { pod: 'p', destination: 's3://My_Bucket' },
      'spec.destination',
      'destination must be s3://bucket[/prefix]',
    ],
    [
      'no bucket',
      { pod: 'p', destination: 's3://' },
      'spec.destination',
      'destination must be s3://bucket[/prefix]',
    ],
    [
      'a subpath escaping the prefix',
      { pod: 'p', destination: 's3://bkt', subpath: '../other' },
      'spec.subpath',
      'subpath must be a relative key prefix',
    ],
    ['no pod', { destination: 's3://bkt' }, 'spec.pod', 'Required value'],
    ['no destination', { pod: 'p' }, 'spec.destination', 'Required value'],
  ])('refuses %s, naming the field', async (_what, spec, field, message) => {
    const err = await rejection(spec);
    expect(err).toContain(field);
    expect(err).toContain(message);
  });

  test('accepts s3://bucket and s3://bucket/prefix/', async () => {
    await createCheckpoint(client, namespace, 'ok-1', { pod: 'p', destination: 's3://evidence-bucket' });
    await createCheckpoint(client, namespace, 'ok-2', {
      pod: 'p',
      destination: 's3://evidence.bucket-1/team/a/',
    });
  });

  test('the spec is immutable', async () => {
    await createCheckpoint(client, namespace, 'frozen', { pod: 'p', destination: 's3://evidence-bucket' });
    await expect(
      client.patch(PodCheckpoints, 'frozen', namespace, { spec: { pod: 'other' } }),
    ).rejects.toThrow(/spec is immutable: create a new PodCheckpoint/);
  });
});

test('new optional fields round-trip: containers, isolate', async () => {
  const cp = await createCheckpoint(client, namespace, 'new-fields', {
    pod: 'p',
    destination: 's3://evidence-bucket',
    containers: ['app'],
    isolate: { label: true, cordon: false },
  });
  expect(cp.spec).toMatchObject({ containers: ['app'], isolate: { label: true, cordon: false } });
});
