/**
 * What a run needs from the outside world, injected so tests control time and never sleep for real:
 * the API client, AWS clients (node-reaper only), the clock, the sleep between terminations, an event
 * recorder, a logger and the run's metrics.
 */
import type { AwsClients } from '@keiko/aws-kit';
import type { EventRecorder, KubeClient, Logger } from '@keiko/operator-kit';
import type { RunMetrics } from './metrics.js';

export interface RunContext {
  client: KubeClient;
  aws?: AwsClients;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  recorder: EventRecorder;
  log: Logger;
  metrics: RunMetrics;
}

/** What happened to one planned action. */
export interface ActionResult<C> {
  candidate: C;
  outcome: 'done' | 'failed' | 'planned';
  error?: string;
}

/**
 * Runs `act` for each action in turn; a failure is logged, counted and reported, never thrown: one bad
 * node, pod or PDB never aborts the run.
 */
export async function executeEach<C extends { reason: string }>(
  ctx: RunContext,
  actions: readonly C[],
  keyOf: (c: C) => string,
  act: (c: C, index: number) => Promise<void>,
): Promise<ActionResult<C>[]> {
  const results: ActionResult<C>[] = [];
  for (const [i, candidate] of actions.entries()) {
    try {
      await act(candidate, i);
      ctx.metrics.count(candidate.reason, 'done');
      results.push({ candidate, outcome: 'done' });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      ctx.log.error({ target: keyOf(candidate), reason: candidate.reason, err: error }, 'action failed');
      ctx.metrics.count(candidate.reason, 'failed');
      results.push({ candidate, outcome: 'failed', error });
    }
  }
  return results;
}
