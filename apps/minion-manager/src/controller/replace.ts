/**
 * Carries out a replacement plan for one group: for each instance, record it in the group's
 * `replacing` tag (so a restarted controller resumes it), drain its Node through the Eviction API
 * (PDB-aware, bounded by the drain timeout), and only after a complete drain terminate it in the group
 * without decrementing desired capacity, so the group launches a replacement in the decided market.
 * A drain that does not complete uncordons the Node and keeps the instance: never terminate after a
 * failed drain.
 */
import type { AutoScalingGroups } from '@keiko/aws-kit';
import { classifyAwsError } from '@keiko/aws-kit';
import { drainNode, uncordon } from '@keiko/node-kit';
import { errorMessage, type ReconcileContext } from '@keiko/operator-kit';
import { encodeReplacing, TAG } from '../asg/tags.js';
import type { GroupInstance, ReplacementPlan } from '../decision/replacement.js';
import type { MinionMetrics } from './metrics.js';

export interface ReplaceOptions {
  drainTimeoutMs: number;
  evictionRetryMs: number;
}

export interface ReplaceDeps {
  asgs: AutoScalingGroups;
  metrics: MinionMetrics;
  /** Records a Warning/Normal event about the group. */
  event: (type: 'Normal' | 'Warning', reason: string, note: string) => Promise<void>;
}

/** Executes the plan; returns the `replacing` list as it stands afterwards. */
export async function executeReplacement(
  group: string,
  plan: ReplacementPlan,
  replacing: readonly string[],
  instances: readonly GroupInstance[],
  options: ReplaceOptions,
  deps: ReplaceDeps,
  ctx: ReconcileContext,
): Promise<string[]> {
  let current = [...replacing];
  const persist = async (next: string[]) => {
    if (encodeReplacing(next) === encodeReplacing(current)) return;
    if (next.length > 0) await deps.asgs.putTags(group, { [TAG.replacing]: encodeReplacing(next) });
    else await deps.asgs.deleteTags(group, [TAG.replacing]);
    current = next;
  };
  await persist(current.filter((id) => !plan.finished.includes(id)));
  if (plan.start.length > 0) await persist([...current, ...plan.start]);

  const work = [...plan.inFlight, ...plan.start];
  const done = await Promise.all(
    work.map(async (instanceId) => {
      const instance = instances.find((i) => i.instanceId === instanceId);
      if (!instance || /^Terminat/.test(instance.lifecycleState)) return { instanceId, keep: true };
      const log = ctx.log.child({ asg: group, instanceId, node: instance.node?.name });
      if (instance.node) {
        log.info('draining node');
        const result = await drainNode(ctx.client, instance.node.name, {
          timeoutMs: options.drainTimeoutMs,
          evictionRetryMs: options.evictionRetryMs,
          signal: ctx.signal,
        });
        if (!result.completed && ctx.signal.aborted) {
          // Shutting down mid-drain: leave the node cordoned and the instance in the tag; the next
          // leader resumes this very instance.
          log.info('shutdown during drain; the replacement resumes after restart');
          return { instanceId, keep: true };
        }
        if (!result.completed) {
          await uncordon(ctx.client, instance.node.name);
          const why = [...result.blocked, ...result.refused].map((b) => `${b.pod}: ${b.reason}`).join('; ');
          log.warn({ blocked: why }, 'drain did not complete; instance kept');
          deps.metrics.drainFailures.inc({ asg: group });
          deps.metrics.replacements.inc({ asg: group, result: 'drain_failed' });
          await deps.event(
            'Warning',
            'DrainFailed',
            `drain of ${instance.node.name} (${instanceId}) did not complete: ${why}`.slice(0, 1000),
          );
          return { instanceId, keep: false };
        }
      }
      try {
        await deps.asgs.terminateInstance(instanceId, false);
      } catch (err) {
        const kind = classifyAwsError(err);
        if (kind !== 'not-found' && !/not found|not part of/i.test(errorMessage(err))) {
          deps.metrics.replacements.inc({ asg: group, result: 'error' });
          throw err;
        }
      }
      log.info('instance terminated; the group launches its replacement');
      deps.metrics.replacements.inc({ asg: group, result: 'terminated' });
      await deps.event(
        'Normal',
        'InstanceReplaced',
        `terminated ${instanceId} (${instance.lifecycle}) after draining ${instance.node?.name ?? 'no node'}`,
      );
      return { instanceId, keep: true };
    }),
  );
  const dropped = new Set(done.filter((d) => !d.keep).map((d) => d.instanceId));
  await persist(current.filter((id) => !dropped.has(id)));
  return current;
}
