/**
 * `--events-only` (upstream's recommendation-only mode): the SpotRecommendationGiven Event and the
 * status are published, and nothing in AWS changes: no policy, no tags, no instance.
 * AWS mocking in-process as in support.ts (prices: moto has no Pricing API and flat spot prices).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CoreResources, KubeClient, type KubeObject } from '@keiko/operator-kit';
import { createTestNamespace, testKubeConfig, waitFor } from '@keiko/testkit';
import { TAG, tagsOf } from '../src/asg/tags.js';
import { CORE_EVENTS, recommendationEventName } from '../src/controller/recommendation.js';
import {
  AwsShim,
  createGroup,
  groupNow,
  startController,
  type TestEnv,
  testEnv,
  ZONE_OF_FIRST_SUBNET,
} from './support.js';

const kc = testKubeConfig();
let env: TestEnv;
let ns: string;
let kube: KubeClient;
const shim = new AwsShim();

beforeAll(async () => {
  env = await testEnv('mm-events');
  ns = await createTestNamespace(kc, 'mm-events');
  kube = await KubeClient.fromKubeConfig(kc, 'minion-manager-test');
});
afterAll(async () => {
  await env?.sim.stop();
  env?.aws.destroy();
  kube?.transport.close();
});

test('events-only recommends spot and changes nothing', async () => {
  const group = `${env.account.clusterName}-workers`;
  await createGroup(env, { name: group, desired: 2, mixed: true, tags: { [TAG.mode]: 'use-spot' } });
  shim.setSpot(['m5.large'], [ZONE_OF_FIRST_SUBNET(env.account)], 0.02);
  const before = await groupNow(env, group);
  const controller = await startController(env, shim, ns, ['--events-only']);
  try {
    const rec = await waitFor(
      () =>
        kube.getOrUndefined<KubeObject & { message?: string; count?: number }>(
          CORE_EVENTS,
          recommendationEventName(group),
          ns,
        ),
      { description: 'the recommendation Event', timeoutMs: 60_000 },
    );
    expect(JSON.parse(rec.message ?? '{}')).toEqual({
      apiVersion: 'v1alpha1',
      spotPrice: '0.096',
      useSpot: true,
      recommendation: 'spot',
    });
    // Refreshed in place (one object per group), not one new Event per cycle.
    await waitFor(
      async () =>
        ((await kube.get<KubeObject & { count?: number }>(CORE_EVENTS, recommendationEventName(group), ns))
          .count ?? 0) >= 2,
      { description: 'the Event refreshed', timeoutMs: 60_000 },
    );
    const status = await kube.get<KubeObject & { data?: Record<string, string> }>(
      CoreResources.configMaps,
      'minion-manager-status',
      ns,
    );
    expect(JSON.parse(status.data?.[group] ?? '{}')).toMatchObject({
      market: 'spot',
      skipped: 'events-only mode',
    });
  } finally {
    await controller.stop();
  }
  const after = await groupNow(env, group);
  expect(after.MixedInstancesPolicy).toEqual(before.MixedInstancesPolicy);
  expect(tagsOf(after.Tags)).toEqual(tagsOf(before.Tags));
  expect((after.Instances ?? []).map((i) => i.InstanceId).sort()).toEqual(
    (before.Instances ?? []).map((i) => i.InstanceId).sort(),
  );
  expect(shim.lastUpdate.size).toBe(0);
}, 240_000);
