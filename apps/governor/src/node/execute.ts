/**
 * node-reaper's effects, one action at a time, each isolated: a failed drain or termination is reported
 * and the run goes on with the next node (upstream returned the error and aborted the run).
 *
 * State lives on the Node, so a run killed at any point is resumed by the next: `state=draining` before
 * the drain, `age-unreapable=<time>` after a failed drain (the back-off, for every reason),
 * `state=termination-issued` once the instance is terminated (the node is then never picked again).
 */
import { AutoScalingGroups } from '@keiko/aws-kit';
import { cordon, drainNode, uncordon } from '@keiko/node-kit';
import type { NodeReaperConfig } from '../config.js';
import { AGE_UNREAPABLE_ANNOTATION, type Node, Resources, STATE_ANNOTATION } from '../kube.js';
import { type ActionResult, executeEach, type RunContext } from '../run/context.js';
import type { NodeCandidate, NodePlan } from './planner.js';

async function annotate(ctx: RunContext, node: string, annotations: Record<string, string | null>) {
  await ctx.client.patch(Resources.nodes, node, undefined, { metadata: { annotations } });
}

async function event(
  ctx: RunContext,
  node: string,
  type: 'Normal' | 'Warning',
  reason: string,
  note: string,
) {
  const object: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: node } };
  const current = await ctx.client.getOrUndefined<Node>(Resources.nodes, node);
  await ctx.recorder.event(current ? { ...current, apiVersion: 'v1', kind: 'Node' } : object, {
    type,
    reason,
    action: 'Reap',
    note,
  });
}

/** Cordon and drain; on failure: event, back-off annotation, uncordon unless --ignore-failure; throws. */
async function drain(ctx: RunContext, config: NodeReaperConfig, c: NodeCandidate, node: string) {
  await annotate(ctx, node, { [STATE_ANNOTATION]: 'draining' });
  await cordon(ctx.client, node);
  const result = await drainNode(ctx.client, node, { timeoutMs: config.drainTimeout * 1000 });
  if (result.completed) return;
  const why = [...result.refused, ...result.blocked].map((d) => `${d.pod}: ${d.reason}`).join('; ');
  await event(
    ctx,
    node,
    'Warning',
    'NodeDrainFailed',
    `drain for ${c.reason} did not complete: ${why}`.slice(0, 1000),
  );
  await annotate(ctx, node, {
    [AGE_UNREAPABLE_ANNOTATION]: ctx.now().toISOString(),
    [STATE_ANNOTATION]: null,
  });
  if (config.ignoreFailure) ctx.log.warn({ node }, 'drain failed; node left cordoned (--ignore-failure)');
  else await uncordon(ctx.client, node);
  throw new Error(`drain of ${node} did not complete: ${why}`);
}

export async function executeNodePlan(
  ctx: RunContext,
  config: NodeReaperConfig,
  plan: NodePlan,
): Promise<ActionResult<NodeCandidate>[]> {
  const asgs = new AutoScalingGroups(ctx.aws!);
  const last = plan.actions.length - 1;
  return executeEach(
    ctx,
    plan.actions,
    (c) => c.node ?? c.instanceId ?? '?',
    async (c, index) => {
      const node = c.node;
      ctx.log.info(
        { node, instanceId: c.instanceId, reason: c.reason, action: c.action, detail: c.detail },
        'reaping',
      );
      switch (c.action) {
        case 'delete-node': {
          const current = await ctx.client.getOrUndefined<Node>(Resources.nodes, node!);
          if (!current) return;
          await event(ctx, node!, 'Normal', 'GhostNodeDeleted', c.detail);
          await ctx.client.delete(Resources.nodes, node!, undefined, { uid: current.metadata.uid });
          return;
        }
        case 'terminate-instance':
          await asgs.terminateInstance(c.instanceId!, false);
          break;
        case 'drain-terminate':
          await drain(ctx, config, c, node!);
          await asgs.terminateInstance(c.instanceId!, false);
          await annotate(ctx, node!, { [STATE_ANNOTATION]: 'termination-issued' });
          await event(
            ctx,
            node!,
            'Normal',
            'NodeReaped',
            `${c.reason}: ${c.detail}; instance ${c.instanceId} terminated in its ASG`,
          );
          break;
        case 'drain-delete-node':
          await drain(ctx, config, c, node!);
          await annotate(ctx, node!, { [STATE_ANNOTATION]: 'termination-issued' });
          await event(ctx, node!, 'Normal', 'NodeReaped', `${c.reason}: ${c.detail}; Node deleted`);
          await ctx.client.delete(Resources.nodes, node!);
          break;
      }
      // Throttle between terminations only: nothing to wait for after the last one.
      if (index < last && c.throttleSeconds > 0) await ctx.sleep(c.throttleSeconds * 1000);
    },
  );
}
