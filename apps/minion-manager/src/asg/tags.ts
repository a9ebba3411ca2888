/**
 * The group's tags are minion-manager's whole API: the opt-in (upstream's names), per-group policy
 * knobs, and the state that must survive a restart (the market and since when, capacity back-offs,
 * instances being replaced). Values use only characters AWS allows in tags (letters, digits, spaces,
 * `+ - = . _ : / @`) and stay under the 256-character limit.
 */
import type { CapacityBackoff } from '../decision/backoff.js';
import {
  type Market,
  type MarketState,
  type Mode,
  type Policy,
  parsePoolKey,
  poolKey,
} from '../decision/types.js';

export const TAG = {
  /** Upstream opt-in: `use-spot` | `no-spot` (case-insensitive; other values read as `no-spot`). */
  mode: 'k8s-minion-manager',
  /** Upstream: `true` = change the policy only, never terminate instances. */
  notTerminate: 'k8s-minion-manager/not-terminate',
  /** Upstream's kops-era cluster tag; the EKS one is `kubernetes.io/cluster/<name>`. */
  kopsCluster: 'KubernetesCluster',
  // Policy knobs (override the flags' defaults for one group).
  enterSpotRatio: 'k8s-minion-manager/spot-enter-ratio',
  exitSpotRatio: 'k8s-minion-manager/spot-exit-ratio',
  minDwellSeconds: 'k8s-minion-manager/min-dwell-seconds',
  maxUnavailable: 'k8s-minion-manager/max-unavailable',
  onDemandBaseCapacity: 'k8s-minion-manager/on-demand-base-capacity',
  // State written by the controller.
  market: 'k8s-minion-manager/market',
  marketSince: 'k8s-minion-manager/market-since',
  capacityBackoff: 'k8s-minion-manager/capacity-backoff',
  replacing: 'k8s-minion-manager/replacing',
} as const;

export const eksClusterTag = (cluster: string) => `kubernetes.io/cluster/${cluster}`;

export type Tags = Record<string, string>;

export function tagsOf(list: readonly { Key?: string; Value?: string }[] | undefined): Tags {
  const out: Tags = {};
  for (const t of list ?? []) if (t.Key) out[t.Key] = t.Value ?? '';
  return out;
}

export function modeOf(tags: Tags): Mode {
  return tags[TAG.mode]?.trim().toLowerCase() === 'use-spot' ? 'use-spot' : 'no-spot';
}

export const notTerminate = (tags: Tags) => tags[TAG.notTerminate]?.trim().toLowerCase() === 'true';

/** A policy knob that does not parse: reported (an event) and the default used. */
export interface TagProblem {
  tag: string;
  value: string;
  problem: string;
}

/** The group's policy: flag defaults overridden by valid tags; invalid tags are reported, not applied. */
export function policyOf(tags: Tags, defaults: Policy): { policy: Policy; problems: TagProblem[] } {
  const problems: TagProblem[] = [];
  const num = (tag: string, fallback: number, valid: (n: number) => boolean, what: string) => {
    const raw = tags[tag];
    if (raw === undefined) return fallback;
    const n = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(n) || !valid(n)) {
      problems.push({ tag, value: raw, problem: `must be ${what}` });
      return fallback;
    }
    return n;
  };
  const ratio = (n: number) => n > 0 && n <= 1;
  const policy: Policy = {
    enterSpotRatio: num(TAG.enterSpotRatio, defaults.enterSpotRatio, ratio, 'a ratio in (0, 1]'),
    exitSpotRatio: num(
      TAG.exitSpotRatio,
      defaults.exitSpotRatio,
      (n) => n > 0 && n <= 2,
      'a ratio in (0, 2]',
    ),
    minDwellMs:
      num(TAG.minDwellSeconds, defaults.minDwellMs / 1000, (n) => n >= 0, 'a number of seconds >= 0') * 1000,
    maxUnavailable: num(
      TAG.maxUnavailable,
      defaults.maxUnavailable,
      (n) => Number.isInteger(n) && n >= 1,
      'an integer >= 1',
    ),
    onDemandBaseCapacity: num(
      TAG.onDemandBaseCapacity,
      defaults.onDemandBaseCapacity,
      (n) => Number.isInteger(n) && n >= 0,
      'an integer >= 0',
    ),
  };
  if (policy.exitSpotRatio <= policy.enterSpotRatio) {
    problems.push({
      tag: TAG.exitSpotRatio,
      value: String(policy.exitSpotRatio),
      problem: `must be greater than ${TAG.enterSpotRatio} (${policy.enterSpotRatio}); using the defaults for both`,
    });
    policy.enterSpotRatio = defaults.enterSpotRatio;
    policy.exitSpotRatio = defaults.exitSpotRatio;
  }
  return { policy, problems };
}

export function marketStateOf(tags: Tags): MarketState | undefined {
  const market = tags[TAG.market];
  if (market !== 'spot' && market !== 'on-demand') return undefined;
  const since = Date.parse(tags[TAG.marketSince] ?? '');
  return { market: market as Market, since: Number.isFinite(since) ? since : 0 };
}

export function marketStateTags(state: MarketState): Tags {
  return { [TAG.market]: state.market, [TAG.marketSince]: new Date(state.since).toISOString() };
}

/**
 * Back-offs as `type@zone=until/lastFailure/failures` (epoch seconds), space separated; the soonest
 * to expire are dropped first if the value would pass 256 characters.
 */
export function encodeBackoffs(backoffs: readonly CapacityBackoff[]): string {
  const s = (ms: number) => Math.ceil(ms / 1000);
  const parts = [...backoffs]
    .sort((a, b) => b.until - a.until)
    .map((b) => `${poolKey(b)}=${s(b.until)}/${s(b.lastFailure)}/${b.failures}`);
  while (parts.join(' ').length > 256) parts.pop();
  return parts.sort().join(' ');
}

export function decodeBackoffs(value: string | undefined): CapacityBackoff[] {
  const out: CapacityBackoff[] = [];
  for (const part of (value ?? '').split(' ')) {
    const [key, rest] = part.split('=');
    const pool = key ? parsePoolKey(key) : undefined;
    const [until, last, failures] = (rest ?? '').split('/').map(Number);
    if (!pool || !Number.isFinite(until) || !Number.isFinite(last) || !Number.isFinite(failures)) continue;
    out.push({
      ...pool,
      until: (until as number) * 1000,
      lastFailure: (last as number) * 1000,
      failures: failures as number,
    });
  }
  return out.sort((a, b) => poolKey(a).localeCompare(poolKey(b)));
}

export const replacingOf = (tags: Tags): string[] =>
  (tags[TAG.replacing] ?? '').split(' ').filter((s) => s.startsWith('i-'));
export const encodeReplacing = (ids: readonly string[]) => [...new Set(ids)].sort().join(' ');
