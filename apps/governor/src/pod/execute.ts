/**
 * pod-reaper's effects: a DELETE with gracePeriodSeconds=0 and the pod's UID as a precondition (so a
 * new pod of the same name is never hit), after removing the finalizers of a pod whose node is gone
 * (JSON patch guarded by a UID test). Each pod is isolated: a failure is reported and the run goes on.
 */
import { isNotFound, objectPath } from '@keiko/operator-kit';
import { type Pod, Resources } from '../kube.js';
import { type ActionResult, executeEach, type RunContext } from '../run/context.js';
import type { PodCandidate, PodPlan } from './planner.js';

export async function forceDeletePod(ctx: RunContext, c: Pick<PodCandidate, 'namespace' | 'name' | 'uid'>) {
  try {
    await ctx.client.transport.request('DELETE', objectPath(Resources.pods, c.name, c.namespace), {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        propagationPolicy: 'Background',
        preconditions: { uid: c.uid },
      },
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function executePodPlan(ctx: RunContext, plan: PodPlan): Promise<ActionResult<PodCandidate>[]> {
  return executeEach(
    ctx,
    plan.actions,
    (c) => c.pod,
    async (c) => {
      ctx.log.info({ pod: c.pod, reason: c.reason, action: c.action, detail: c.detail }, 'reaping');
      if (ctx.log.isLevelEnabled('debug')) {
        const current = await ctx.client.getOrUndefined<Pod>(Resources.pods, c.name, c.namespace);
        if (current) ctx.log.debug({ pod: c.pod, object: current }, 'pod before deletion');
      }
      if (c.action === 'remove-finalizers-and-force-delete') {
        try {
          await ctx.client.patch(
            Resources.pods,
            c.name,
            c.namespace,
            [
              { op: 'test', path: '/metadata/uid', value: c.uid },
              { op: 'remove', path: '/metadata/finalizers' },
            ],
            'json',
          );
        } catch (err) {
          if (isNotFound(err)) return;
          throw err;
        }
      }
      await ctx.recorder.event(
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: c.name, namespace: c.namespace, uid: c.uid } },
        { type: 'Normal', reason: `Reaped${c.reason}`, action: 'ForceDelete', note: c.detail },
      );
      await forceDeletePod(ctx, c);
    },
  );
}
