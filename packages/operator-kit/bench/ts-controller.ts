/**
 * The operator-kit side of the benchmark: for every BenchItem in NAMESPACE, copy spec.value to
 * status.observedValue with a merge patch on the status subresource (same work as go-controller/).
 */
import { type KubeObject, Manager, type Resource, silentLogger } from '../src/index.js';

export const BenchItems: Resource = {
  group: 'bench.keiko.dev',
  version: 'v1',
  plural: 'benchitems',
  kind: 'BenchItem',
  namespaced: true,
};

interface BenchItem extends KubeObject {
  spec: { value: number };
  status?: { observedValue?: number };
}

const manager = await Manager.create({ name: 'bench', logger: silentLogger() });
manager.controller<BenchItem>(BenchItems, {
  name: 'bench',
  workers: Number(process.env.WORKERS ?? 1),
  informer: { namespace: process.env.NAMESPACE },
  reconcile: async ({ object, name, namespace }, { client }) => {
    if (!object || object.status?.observedValue === object.spec.value) return;
    await client.patch(
      BenchItems,
      name,
      namespace,
      { status: { observedValue: object.spec.value } },
      'merge',
      'status',
    );
  },
});
manager.handleSignals();
await manager.start();
