/**
 * The `instance-manager` defaults ConfigMap (upstream's "GitOps boundaries"), applied purely to an
 * in-memory copy of an InstanceGroup's spec; the stored spec is never rewritten.
 *
 * - `data.defaults`: a partial InstanceGroup (`spec: ...`); fields the group leaves unset take it.
 * - `data.conditionals`: `[{annotationSelector, defaults}]`, label-selector syntax matched against the
 *   group's *annotations*, applied in order over `defaults` (the last match wins).
 * - `data.boundaries`: `restricted: [path]` (the default always wins; no default erases the value),
 *   `shared.merge` (union, the default wins conflicts), `shared.mergeOverride` (union, the group
 *   wins), `shared.replace` (the group's value replaces the default's whole). Paths are dotted from
 *   the object root (`spec.eks.configuration.labels`). Unlisted fields behave as `replace` at the
 *   leaves: the group's value when set, otherwise the default's.
 * Lists merge by key: tags and taints by `key`, volumes, lifecycle hooks and user data by `name`,
 * scalar lists by value.
 */
import { createHash } from 'node:crypto';
import { parse } from 'yaml';

export const CONFIG_MAP_NAME = 'instance-manager';
/** A Namespace annotated with it (`"true"`) opts its groups out of the defaults. */
export const CONFIG_EXCLUDED_ANNOTATION = 'instancemgr.keikoproj.io/config-excluded';

type Json = unknown;
type JsonObject = Record<string, Json>;

export interface Boundaries {
  restricted: string[];
  merge: string[];
  mergeOverride: string[];
  replace: string[];
}

export interface ClusterDefaults {
  defaults: JsonObject;
  conditionals: { annotationSelector: string; defaults: JsonObject }[];
  boundaries: Boundaries;
  /** MD5 of the ConfigMap's data, recorded in `status.configMD5`. */
  hash: string;
}

export class DefaultsError extends Error {
  override name = 'DefaultsError';
}

const isObject = (v: Json): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses the ConfigMap's data; throws {@link DefaultsError} naming the bad key. */
export function parseClusterDefaults(data: Record<string, string> | undefined): ClusterDefaults {
  const d = data ?? {};
  const read = (key: string): Json => {
    if (!d[key]) return undefined;
    try {
      return parse(d[key]);
    } catch (err) {
      throw new DefaultsError(
        `ConfigMap ${CONFIG_MAP_NAME} data.${key} is not valid YAML: ${(err as Error).message}`,
      );
    }
  };
  const defaults = read('defaults') ?? {};
  if (!isObject(defaults))
    throw new DefaultsError(`ConfigMap ${CONFIG_MAP_NAME} data.defaults must be an object`);
  const conditionals = read('conditionals') ?? [];
  if (!Array.isArray(conditionals))
    throw new DefaultsError(`ConfigMap ${CONFIG_MAP_NAME} data.conditionals must be a list`);
  const b = read('boundaries') ?? {};
  if (!isObject(b)) throw new DefaultsError(`ConfigMap ${CONFIG_MAP_NAME} data.boundaries must be an object`);
  const shared = isObject(b.shared) ? b.shared : {};
  const strings = (v: Json, where: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new DefaultsError(
        `ConfigMap ${CONFIG_MAP_NAME} data.boundaries.${where} must be a list of paths`,
      );
    return v as string[];
  };
  const hash = createHash('md5')
    .update(
      JSON.stringify(
        Object.keys(d)
          .sort()
          .map((k) => [k, d[k]]),
      ),
    )
    .digest('hex');
  return {
    defaults,
    conditionals: conditionals.map((c, i) => {
      if (!isObject(c) || typeof c.annotationSelector !== 'string' || !isObject(c.defaults))
        throw new DefaultsError(
          `ConfigMap ${CONFIG_MAP_NAME} data.conditionals[${i}] needs annotationSelector and defaults`,
        );
      return { annotationSelector: c.annotationSelector, defaults: c.defaults };
    }),
    boundaries: {
      restricted: strings(b.restricted, 'restricted'),
      merge: strings(shared.merge, 'shared.merge'),
      mergeOverride: strings(shared.mergeOverride, 'shared.mergeOverride'),
      replace: strings(shared.replace, 'shared.replace'),
    },
    hash,
  };
}

/** Does a label-selector expression (`a=b,c!=d,e in (f,g),h notin (i),j,!k`) match `annotations`? */
export function selectorMatches(selector: string, annotations: Record<string, string>): boolean {
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const term = raw.trim();
    if (!term) return true;
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const values = m[3]!.split(',').map((s) => s.trim());
      const has = m[1]! in annotations && values.includes(annotations[m[1]!]!);
      return m[2] === 'in' ? has : !has;
    }
    m = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (m) {
      const equal = annotations[m[1]!] === m[3]!.trim();
      return m[2] === '!=' ? !equal : equal;
    }
    if (term.startsWith('!')) return !(term.slice(1).trim() in annotations);
    return term in annotations;
  });
}

const LIST_KEYS = ['key', 'name'];

function listKey(item: Json): string | undefined {
  if (!isObject(item)) return JSON.stringify(item);
  for (const k of LIST_KEYS) if (typeof item[k] === 'string') return `${k}=${item[k]}`;
  return undefined;
}

/** Union of two values; `winner` decides conflicts (scalars, same-key list items, same map keys). */
function union(winner: Json, loser: Json): Json {
  if (winner === undefined) return loser;
  if (loser === undefined) return winner;
  if (isObject(winner) && isObject(loser)) {
    const out: JsonObject = { ...loser };
    for (const [k, v] of Object.entries(winner)) out[k] = union(v, loser[k]);
    return out;
  }
  if (Array.isArray(winner) && Array.isArray(loser)) {
    const out = [...winner];
    const keys = new Set(winner.map(listKey));
    for (const item of loser) {
      const k = listKey(item);
      if (k === undefined || !keys.has(k)) out.push(item);
    }
    return out;
  }
  return winner;
}

/** Objects merge field by field; anything else set by the group replaces the default. */
function overlay(base: Json, top: Json): Json {
  if (top === undefined) return base;
  if (isObject(base) && isObject(top)) {
    const out: JsonObject = { ...base };
    for (const [k, v] of Object.entries(top)) out[k] = overlay(base[k], v);
    return out;
  }
  return top;
}

function getPath(obj: Json, path: string[]): Json {
  let cur = obj;
  for (const p of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function setPath(obj: JsonObject, path: string[], value: Json): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (!isObject(cur[p])) cur[p] = {};
    cur = cur[p] as JsonObject;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

/**
 * The spec the controller acts on: the group's spec with the cluster defaults applied. Pure; the
 * input is not modified.
 */
export function applyClusterDefaults<S>(
  group: { metadata: { annotations?: Record<string, string> }; spec: S },
  config: ClusterDefaults | undefined,
): S {
  if (!config) return structuredClone(group.spec);
  const annotations = group.metadata.annotations ?? {};
  let defaults: Json = config.defaults;
  for (const c of config.conditionals) {
    if (selectorMatches(c.annotationSelector, annotations)) defaults = overlay(defaults, c.defaults);
  }
  const mine = { spec: structuredClone(group.spec) as Json };
  const result = overlay(structuredClone(defaults), mine) as JsonObject;
  const split = (p: string) => p.split('.').filter(Boolean);
  for (const p of config.boundaries.replace) {
    const path = split(p);
    setPath(result, path, getPath(mine, path) ?? getPath(defaults, path));
  }
  for (const p of config.boundaries.merge) {
    const path = split(p);
    setPath(result, path, union(getPath(defaults, path), getPath(mine, path)));
  }
  for (const p of config.boundaries.mergeOverride) {
    const path = split(p);
    setPath(result, path, union(getPath(mine, path), getPath(defaults, path)));
  }
  for (const p of config.boundaries.restricted) {
    const path = split(p);
    setPath(result, path, structuredClone(getPath(defaults, path)));
  }
  return (result.spec ?? {}) as S;
}
