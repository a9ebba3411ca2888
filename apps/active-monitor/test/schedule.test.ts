/** Pure scheduling: table tests over spec, persisted status and an injected "now". */
import { describe, expect, it } from '@jest/globals';
import { ScaledClock } from '../src/schedule/clock.js';
import {
  decide,
  parseGoDuration,
  parseSchedule,
  runTimeoutSeconds,
  type Schedule,
} from '../src/schedule/schedule.js';

const t = (s: string) => new Date(s);

describe('parseSchedule', () => {
  it.each([
    [{ repeatAfterSec: 30 }, 'interval'],
    [{ repeatAfterSec: 0 }, 'paused'],
    [{}, 'paused'],
    [{ repeatAfterSec: 0, schedule: { cron: '*/5 * * * *' } }, 'cron'],
    [{ schedule: { cron: '@hourly' } }, 'cron'],
    [{ schedule: { cron: '@every 1m30s' } }, 'interval'],
    [{ schedule: { cron: 'CRON_TZ=Asia/Kathmandu 0 9 * * *' } }, 'cron'],
  ])('%j is %s', (spec, kind) => {
    expect(parseSchedule(spec).kind).toBe(kind);
  });

  it.each([
    [{ schedule: { cron: '61 * * * *' } }, /schedule.cron: .*minute/],
    [{ schedule: { cron: '0 0 * * * *' } }, /schedule.cron/],
    [{ schedule: { cron: '@every 0s' } }, /at least 1s/],
    [{ schedule: { cron: '0 * * * *', timeZone: 'Mars/Olympus' } }, /schedule.timeZone/],
  ])('%j is rejected naming the field', (spec, message) => {
    expect(() => parseSchedule(spec)).toThrow(message);
  });

  it('parses Go durations', () => {
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration(' 500ms')).toBe(500);
    expect(() => parseGoDuration('5 minutes')).toThrow();
  });
});

describe('decide', () => {
  const every30 = parseSchedule({ repeatAfterSec: 30 });
  const cronKtm = parseSchedule({ schedule: { cron: '0 * * * *', timeZone: 'Asia/Kathmandu' } }); // UTC+05:45
  const cases: [string, Schedule, string | undefined, string, unknown][] = [
    [
      'interval: first run at once',
      every30,
      undefined,
      '2026-03-01T00:00:07Z',
      { kind: 'run', missed: 0, slot: t('2026-03-01T00:00:07Z') },
    ],
    [
      'interval: waits for the next slot',
      every30,
      '2026-03-01T00:00:00Z',
      '2026-03-01T00:00:10Z',
      { kind: 'wait', until: t('2026-03-01T00:00:30Z') },
    ],
    [
      'interval: due exactly on the slot',
      every30,
      '2026-03-01T00:00:00Z',
      '2026-03-01T00:00:30Z',
      { kind: 'run', missed: 0, slot: t('2026-03-01T00:00:30Z'), next: t('2026-03-01T00:01:00Z') },
    ],
    [
      'interval: late but within a period keeps the grid',
      every30,
      '2026-03-01T00:00:00Z',
      '2026-03-01T00:00:41Z',
      { kind: 'run', missed: 0, slot: t('2026-03-01T00:00:30Z') },
    ],
    [
      'interval: down for 10 min runs ONCE for the latest slot',
      every30,
      '2026-03-01T00:00:00Z',
      '2026-03-01T00:10:05Z',
      { kind: 'run', missed: 19, slot: t('2026-03-01T00:10:00Z'), next: t('2026-03-01T00:10:30Z') },
    ],
    [
      'cron: first slot after now, in the time zone',
      cronKtm,
      undefined,
      '2026-03-01T00:05:00Z',
      { kind: 'wait', until: t('2026-03-01T00:15:00Z') },
    ],
    [
      'cron: due at the minute',
      cronKtm,
      '2026-03-01T00:15:00Z',
      '2026-03-01T01:15:00Z',
      { kind: 'run', missed: 0, slot: t('2026-03-01T01:15:00Z'), next: t('2026-03-01T02:15:00Z') },
    ],
    [
      'cron: down for 3 hours runs once for the latest slot',
      cronKtm,
      '2026-03-01T00:15:00Z',
      '2026-03-01T03:20:00Z',
      { kind: 'run', missed: 2, slot: t('2026-03-01T03:15:00Z') },
    ],
    ['paused', parseSchedule({}), undefined, '2026-03-01T00:00:00Z', { kind: 'paused' }],
  ];
  it.each(cases)('%s', (_name, schedule, last, now, expected) => {
    const d = decide(
      schedule,
      { lastScheduleTime: last ? t(last) : undefined, firstSlot: undefined },
      t(now),
    );
    expect(d).toMatchObject(expected as object);
  });

  it('cron: a persisted first slot that passed while down runs once', () => {
    const d = decide(cronKtm, { firstSlot: t('2026-03-01T00:15:00Z') }, t('2026-03-01T02:00:00Z'));
    expect(d).toMatchObject({ kind: 'run', slot: t('2026-03-01T01:15:00Z'), missed: 1 });
  });

  it('a restart recomputes the same decision from status (no lost or double slot)', () => {
    const state = { lastScheduleTime: t('2026-03-01T00:00:30Z'), firstSlot: undefined };
    const before = decide(every30, state, t('2026-03-01T00:01:02Z'));
    const after = decide(every30, state, t('2026-03-01T00:01:04Z'));
    expect(after).toEqual(before);
  });

  it('cron follows daylight saving time', () => {
    const ny = parseSchedule({ schedule: { cron: 'CRON_TZ=America/New_York 30 2 * * *' } });
    // 2026-03-08: 02:30 does not exist in New York; the next slot is 2026-03-09 02:30 EDT (06:30Z).
    const d = decide(
      ny,
      { lastScheduleTime: t('2026-03-07T07:30:00Z'), firstSlot: undefined },
      t('2026-03-08T12:00:00Z'),
    );
    expect(d.kind === 'run' || d.kind === 'wait').toBe(true);
    const nine = parseSchedule({ schedule: { cron: '0 9 * * *', timeZone: 'America/New_York' } });
    const w = decide(
      nine,
      { lastScheduleTime: t('2026-03-07T14:00:00Z'), firstSlot: undefined },
      t('2026-03-08T10:00:00Z'),
    );
    expect(w).toEqual({ kind: 'wait', until: t('2026-03-08T13:00:00Z') }); // 09:00 EDT after the switch
  });
});

describe('runTimeoutSeconds', () => {
  it.each([
    [60, parseSchedule({ repeatAfterSec: 30 }), 60],
    [undefined, parseSchedule({ repeatAfterSec: 30 }), 30],
    [undefined, parseSchedule({ schedule: { cron: '*/10 * * * *' } }), 600],
  ])('workflowtimeout %s with %j -> %i s', (timeout, schedule, expected) => {
    expect(runTimeoutSeconds(timeout, schedule, t('2026-03-01T00:00:00Z'))).toBe(expected);
  });
});

describe('ScaledClock', () => {
  it('scales waits and jumps forward', () => {
    const clock = new ScaledClock(t('2026-03-01T00:00:00Z'), 20);
    expect(clock.realDelay(60_000)).toBe(3_000);
    const before = clock.now().getTime();
    clock.advance(3_600_000);
    expect(clock.now().getTime() - before).toBeGreaterThanOrEqual(3_600_000);
  });
});
