/**
 * When a HealthCheck runs: pure functions of the spec, the persisted status and the current time.
 *
 * - `repeatAfterSec > 0`: fixed rate. Slots lie on a grid anchored at the first run
 *   (`lastScheduleTime + n * repeatAfterSec`), so a slow run does not push later runs back.
 * - otherwise `schedule.cron`: standard 5-field cron or a descriptor, evaluated in `schedule.timeZone`
 *   or a `CRON_TZ=`/`TZ=` prefix (UTC by default), or `@every <duration>` (a fixed rate).
 * - otherwise: paused (upstream's "Stopped").
 *
 * Missed runs: when one or more slots passed without a run (controller down, previous run still
 * active), exactly ONE run starts at once, for the latest slot that passed; older slots are skipped
 * and counted as missed. Never a burst. The first interval run starts at once; the first cron run
 * waits for the first slot after the controller first saw the HealthCheck (persisted as nextRunAt).
 *
 * Everything derives from `status.lastScheduleTime` (the slot of the last check started), so a
 * restart or a leader change neither loses nor repeats a slot.
 */
import { Cron } from 'croner';
import type { HealthCheckSpec } from '../api/healthcheck.js';

export type Schedule =
  | { kind: 'interval'; seconds: number; description: string }
  | { kind: 'cron'; cron: Cron; description: string }
  | { kind: 'paused' };

export class InvalidScheduleError extends Error {
  override name = 'InvalidScheduleError';
}

const GO_DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration for the units a schedule needs (`1h30m`, `90s`, `500ms`). */
export function parseGoDuration(text: string): number {
  let rest = text.trim();
  let ms = 0;
  if (!rest) throw new InvalidScheduleError('empty duration');
  while (rest) {
    const m = GO_DURATION.exec(rest);
    if (!m) throw new InvalidScheduleError(`invalid duration ${JSON.stringify(text)}`);
    ms += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    rest = rest.slice(m[0].length);
  }
  return ms;
}

/** The schedule the spec asks for; throws {@link InvalidScheduleError} naming the field. */
export function parseSchedule(spec: Pick<HealthCheckSpec, 'repeatAfterSec' | 'schedule'>): Schedule {
  if (spec.repeatAfterSec && spec.repeatAfterSec > 0) {
    return { kind: 'interval', seconds: spec.repeatAfterSec, description: `every ${spec.repeatAfterSec}s` };
  }
  const expression = spec.schedule?.cron?.trim();
  if (!expression) return { kind: 'paused' };
  let pattern = expression;
  let timeZone = spec.schedule?.timeZone;
  const tz = /^(?:CRON_)?TZ=(\S+)\s+(.*)$/.exec(pattern);
  if (tz) {
    timeZone = tz[1];
    pattern = tz[2]!.trim();
  }
  if (pattern.startsWith('@every')) {
    const ms = parseGoDuration(pattern.slice('@every'.length));
    if (ms < 1_000) throw new InvalidScheduleError(`schedule.cron: @every needs at least 1s, got ${pattern}`);
    return { kind: 'interval', seconds: ms / 1_000, description: pattern };
  }
  if (timeZone) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      throw new InvalidScheduleError(`schedule.timeZone: unknown time zone ${JSON.stringify(timeZone)}`);
    }
  }
  try {
    // domAndDow false: day-of-month OR day-of-week, as in Vixie cron and robfig.
    const cron = new Cron(pattern, { timezone: timeZone, mode: '5-part', domAndDow: false, paused: true });
    if (!cron.nextRun(new Date(0))) throw new Error('never fires');
    return { kind: 'cron', cron, description: `${pattern}${timeZone ? ` (${timeZone})` : ''}` };
  } catch (err) {
    if (err instanceof InvalidScheduleError) throw err;
    throw new InvalidScheduleError(`schedule.cron: ${(err as Error).message}`);
  }
}

/** The first slot strictly after `after`, or undefined for a cron that never fires again. */
export function slotAfter(schedule: Schedule, after: Date): Date | undefined {
  if (schedule.kind === 'interval') return new Date(after.getTime() + schedule.seconds * 1_000);
  if (schedule.kind === 'cron') return schedule.cron.nextRun(after) ?? undefined;
  return undefined;
}

export interface ScheduleState {
  /** `status.lastScheduleTime`: slot of the last check started. */
  lastScheduleTime?: Date;
  /**
   * `status.nextRunAt` while no check ever started: the first cron slot, persisted by the first
   * reconcile so a restart before it keeps it (and a slot missed while down still runs once).
   */
  firstSlot?: Date;
}

export type Decision =
  | { kind: 'paused' }
  | { kind: 'wait'; until: Date }
  /** Start the run for `slot` now; `next` is the slot after it; `missed` slots were skipped. */
  | { kind: 'run'; slot: Date; next: Date | undefined; missed: number };

const MAX_CRON_CATCHUP_STEPS = 100_000;

export function decide(schedule: Schedule, state: ScheduleState, now: Date): Decision {
  if (schedule.kind === 'paused') return { kind: 'paused' };
  let first: Date | undefined;
  if (state.lastScheduleTime) first = slotAfter(schedule, state.lastScheduleTime);
  else if (schedule.kind === 'interval') first = now;
  else first = state.firstSlot ?? slotAfter(schedule, new Date(now.getTime() - 1));
  if (!first) return { kind: 'paused' };
  if (first.getTime() > now.getTime()) return { kind: 'wait', until: first };

  // Due. Run for the latest slot that has passed; skip (and count) older ones.
  let slot = first;
  let missed = 0;
  if (schedule.kind === 'interval') {
    const period = schedule.seconds * 1_000;
    missed = Math.floor((now.getTime() - first.getTime()) / period);
    slot = new Date(first.getTime() + missed * period);
  } else {
    for (let i = 0; i < MAX_CRON_CATCHUP_STEPS; i++) {
      const n = slotAfter(schedule, slot);
      if (!n || n.getTime() > now.getTime()) break;
      slot = n;
      missed++;
    }
  }
  return { kind: 'run', slot, next: slotAfter(schedule, slot), missed };
}

/**
 * Seconds a run may take: the block's `workflowtimeout`, else (as upstream) `repeatAfterSec`, else
 * the gap to the next cron slot, else 300 s (a paused check run by hand).
 */
export function runTimeoutSeconds(
  workflowtimeout: number | undefined,
  schedule: Schedule,
  slot: Date,
): number {
  if (workflowtimeout && workflowtimeout > 0) return workflowtimeout;
  if (schedule.kind === 'interval') return schedule.seconds;
  const next = slotAfter(schedule, slot);
  if (next) return Math.max(1, Math.round((next.getTime() - slot.getTime()) / 1_000));
  return 300;
}
