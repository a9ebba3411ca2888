/**
 * One reaper run: lock, observe, plan, then either print the plan (`--dry-run`) or carry it out; one
 * summary log line; metrics exported. The plan is the same object in both modes, so a dry run shows
 * exactly what a real run would do.
 */
import type {
  Command,
  ConfigByCommand,
  NodeReaperConfig,
  PdbReaperConfig,
  PodReaperConfig,
} from '../config.js';
import { planNodeReaping } from '../node/planner.js';
import { executePdbPlan } from '../pdb/execute.js';
import { planPdbReaping } from '../pdb/planner.js';
import { executePodPlan } from '../pod/execute.js';
import { planPodReaping } from '../pod/planner.js';
import type { ActionResult, RunContext } from './context.js';
import { RunLock } from './lock.js';
import { observePdbs, observePods } from './observe.js';

export interface PlannedAction {
  target: string;
  reason: string;
  action: string;
  detail: string;
}

export interface RunReport {
  reaper: Command;
  dryRun: boolean;
  generatedAt: string;
  /** Set when another run held the lock: nothing was done. */
  lockedBy?: string;
  actions: PlannedAction[];
  skipped: { target: string; reason: string; why: string }[];
  results: { target: string; reason: string; action: string; outcome: string; error?: string }[];
}

interface Planned<C> {
  actions: PlannedAction[];
  skipped: RunReport['skipped'];
  execute: () => Promise<ActionResult<C>[]>;
}

async function planFor(
  command: Command,
  config: ConfigByCommand[Command],
  ctx: RunContext,
): Promise<Planned<unknown>> {
  switch (command) {
    case 'node': {
      const c = config as NodeReaperConfig;
      // Loaded on demand: the AWS SDK and the drain code cost pod-reaper and pdb-reaper ~100 MB of RSS.
      const [{ observeNodes }, { executeNodePlan }] = await Promise.all([
        import('../node/observe.js'),
        import('../node/execute.js'),
      ]);
      const plan = planNodeReaping(await observeNodes(ctx, c), c);
      return {
        actions: plan.actions.map((a) => ({
          target: a.node ?? a.instanceId ?? '',
          reason: a.reason,
          action: a.action,
          detail: `${a.detail}${a.instanceId ? ` (instance ${a.instanceId}${a.asg ? `, ASG ${a.asg}` : ''})` : ''}`,
        })),
        skipped: plan.skipped.map((s) => ({
          target: s.node ?? s.instanceId ?? '',
          reason: s.reason,
          why: s.why,
        })),
        execute: () => executeNodePlan(ctx, c, plan),
      };
    }
    case 'pod': {
      const c = config as PodReaperConfig;
      const plan = planPodReaping(await observePods(ctx, c.namespace || undefined), c);
      return {
        actions: plan.actions.map((a) => ({
          target: a.pod,
          reason: a.reason,
          action: a.action,
          detail: a.detail,
        })),
        skipped: plan.skipped.map((s) => ({ target: s.pod, reason: s.reason, why: s.why })),
        execute: () => executePodPlan(ctx, plan),
      };
    }
    case 'pdb': {
      const c = config as PdbReaperConfig;
      const plan = planPdbReaping(await observePdbs(ctx, c.namespace || undefined), c);
      return {
        actions: plan.actions.map((a) => ({
          target: a.pdb,
          reason: a.reason,
          action: a.action,
          detail: a.detail,
        })),
        skipped: plan.waiting.map((w) => ({
          target: w.pdb,
          reason: w.reason,
          why: `reapable since ${w.since}`,
        })),
        execute: () => executePdbPlan(ctx, c, plan),
      };
    }
  }
}

export async function runReaper<C extends Command>(
  command: C,
  config: ConfigByCommand[C],
  ctx: RunContext,
): Promise<RunReport> {
  const started = Date.now();
  const report: RunReport = {
    reaper: command,
    dryRun: config.dryRun,
    generatedAt: ctx.now().toISOString(),
    actions: [],
    skipped: [],
    results: [],
  };
  const lock =
    config.lock && !config.dryRun
      ? new RunLock(
          ctx.client,
          config.lockNamespace,
          `governor-${command}-reaper`,
          config.identity,
          config.lockDurationSeconds,
        )
      : undefined;
  if (lock) {
    const got = await lock.acquire();
    if (!got.acquired) {
      ctx.log.warn({ reaper: command, holder: got.holder }, 'another run holds the lock; nothing done');
      report.lockedBy = got.holder;
      return report;
    }
  }
  try {
    const planned = await planFor(command, config, ctx);
    report.actions = planned.actions;
    report.skipped = planned.skipped;
    for (const s of planned.skipped) ctx.metrics.count(s.reason, 'skipped');
    if (config.dryRun) {
      for (const a of planned.actions) ctx.metrics.count(a.reason, 'planned');
    } else {
      const results = await planned.execute();
      report.results = results.map((r, i) => ({
        target: planned.actions[i]!.target,
        reason: planned.actions[i]!.reason,
        action: planned.actions[i]!.action,
        outcome: r.outcome,
        ...(r.error ? { error: r.error } : {}),
      }));
    }
  } finally {
    await lock?.release();
  }
  const seconds = (Date.now() - started) / 1000;
  ctx.metrics.duration.set({ reaper: command }, seconds);
  ctx.metrics.lastSuccess.set({ reaper: command }, ctx.now().getTime() / 1000);
  ctx.log.info(
    {
      reaper: command,
      dryRun: config.dryRun,
      planned: report.actions.length,
      skipped: report.skipped.length,
      done: report.results.filter((r) => r.outcome === 'done').length,
      failed: report.results.filter((r) => r.outcome === 'failed').length,
      seconds,
    },
    'run summary',
  );
  return report;
}
