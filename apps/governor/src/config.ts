/**
 * Configuration of the three reapers: the option tables of options.ts (one per command) are the single source of truth for
 * flag names (upstream's, so existing CronJobs keep working), environment variables, config-file keys,
 * defaults, bounds and help text. `docs.ts` renders the tables in docs/governor.md from it.
 *
 * Precedence, lowest first: default < config file (`--config`, YAML or JSON, validated) < environment
 * (`GOVERNOR_<FLAG>`, plus the few upstream env names such as NODE_NAME) < flags.
 */
import { readFileSync } from 'node:fs';
import { type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import {
  ALIASES,
  type Command,
  type ConfigByCommand,
  type NodeReaperConfig,
  OPTIONS,
  type OptionSpec,
} from './options.js';

export * from './options.js';

/**
 * `[governor] reap <node|pod|pdb> ...flags`: upstream's CronJobs pass the binary name as the first
 * argument (their image had no entrypoint); it is accepted and dropped.
 */
export function parseCommandLine(argv: readonly string[]): {
  command?: Command;
  version?: boolean;
  rest: string[];
} {
  const args = argv[0] === 'governor' ? argv.slice(1) : [...argv];
  if (args[0] === 'version') return { version: true, rest: [] };
  const noun = args[1];
  if (args[0] === 'reap' && (noun === 'node' || noun === 'pod' || noun === 'pdb'))
    return { command: noun, rest: args.slice(2) };
  return { rest: args };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The environment variable of a flag: `GOVERNOR_REAP_AFTER` for `reap-after`. */
export const envName = (flag: string): string => `GOVERNOR_${flag.toUpperCase().replace(/-/g, '_')}`;

function schemaOf(spec: OptionSpec): TSchema {
  const bounds = {
    ...(spec.min !== undefined ? { minimum: spec.min } : {}),
    ...(spec.max !== undefined ? { maximum: spec.max } : {}),
  };
  switch (spec.kind) {
    case 'boolean':
      return Type.Boolean();
    case 'number':
      return Type.Number(bounds);
    case 'integer':
      return Type.Integer(bounds);
    case 'string':
      return Type.String();
    case 'strings':
      return Type.Array(Type.String());
  }
}

/** The JSON schema of a command's config file (all keys optional, unknown keys rejected). */
export function fileSchema(command: Command) {
  const props: Record<string, TSchema> = {};
  for (const spec of OPTIONS[command]) props[spec.key] = Type.Optional(schemaOf(spec));
  return Type.Object(props, { additionalProperties: false });
}

function coerce(spec: OptionSpec, raw: string, source: string): unknown {
  switch (spec.kind) {
    case 'boolean':
      if (/^(true|1|yes)$/i.test(raw)) return true;
      if (/^(false|0|no)$/i.test(raw)) return false;
      throw new ConfigError(`${source}: expected true or false, got "${raw}"`);
    case 'number':
    case 'integer': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new ConfigError(`${source}: expected a number, got "${raw}"`);
      return n;
    }
    case 'string':
      return raw;
    case 'strings':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  }
}

export interface ParseInput {
  argv: readonly string[];
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => string;
}

/**
 * Builds and validates a command's config. Throws {@link ConfigError} naming the flag (or file key)
 * at fault; unknown flags are errors, so a typo never silently keeps a default.
 */
export function parseConfig<C extends Command>(command: C, input: ParseInput): ConfigByCommand[C] {
  const env = input.env ?? process.env;
  const specs = OPTIONS[command];
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const values: Record<string, unknown> = {};
  for (const s of specs) values[s.key] = Array.isArray(s.default) ? [...s.default] : s.default;

  // Flags first into a separate map: --config must be known before the file is read.
  const flags = new Map<string, unknown>();
  let configPath = env.GOVERNOR_CONFIG ?? '';
  const argv = [...input.argv];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    let raw: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (name === 'config') {
      configPath = raw ?? argv[++i] ?? '';
      continue;
    }
    const spec = byFlag.get(ALIASES[command][name] ?? name);
    if (!spec) throw new ConfigError(`unknown flag --${name} for "governor reap ${command}"`);
    if (raw === undefined) {
      const next = argv[i + 1];
      if (spec.kind === 'boolean')
        raw = next !== undefined && /^(true|false)$/i.test(next) ? argv[++i]! : 'true';
      else if (next === undefined) throw new ConfigError(`--${name}: a value is required`);
      else raw = argv[++i]!;
    }
    const value = coerce(spec, raw, `--${name}`);
    if (spec.kind === 'strings')
      flags.set(spec.key, [...((flags.get(spec.key) as string[]) ?? []), ...(value as string[])]);
    else flags.set(spec.key, value);
  }

  if (configPath) {
    const read = input.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
    let file: unknown;
    try {
      file = parseYaml(read(configPath)) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${configPath}: ${(err as Error).message}`);
    }
    const schema = fileSchema(command);
    const first = [...Value.Errors(schema, file)][0];
    if (first) {
      const key = first.path.replace(/^\//, '') || '(root)';
      throw new ConfigError(`config file ${configPath}: ${key}: ${first.message}`);
    }
    Object.assign(values, file as object);
  }
  for (const spec of specs) {
    for (const name of [...(spec.env ?? []), envName(spec.flag)]) {
      const raw = env[name];
      if (raw !== undefined && raw !== '') values[spec.key] = coerce(spec, raw, name);
    }
  }
  for (const [key, value] of flags) values[key] = value;

  for (const spec of specs) {
    const v = values[spec.key];
    if (spec.kind === 'integer' && !Number.isInteger(v))
      throw new ConfigError(`--${spec.flag}: must be an integer, got ${v}`);
    if (typeof v === 'number') {
      if (spec.min !== undefined && v < spec.min)
        throw new ConfigError(`--${spec.flag}: must be at least ${spec.min}, got ${v}`);
      if (spec.max !== undefined && v > spec.max)
        throw new ConfigError(`--${spec.flag}: must be at most ${spec.max}, got ${v}`);
    }
  }
  if (command === 'node') {
    const c = values as unknown as NodeReaperConfig;
    if (c.reapUnjoined && !c.reapUnjoinedTagKey)
      throw new ConfigError('--reap-unjoined-tag-key: required when --reap-unjoined is set');
    for (const t of c.reapTainted) parseTaintSpec(t);
  }
  return values as unknown as ConfigByCommand[C];
}

export interface TaintSpec {
  key: string;
  value?: string;
  effect?: string;
}

const EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

/** `key=value:effect`, `key:effect` or `key`. */
export function parseTaintSpec(text: string): TaintSpec {
  const m = /^([^=:]+)(?:=([^:]*))?(?::(.+))?$/.exec(text.trim());
  if (!m) throw new ConfigError(`--reap-tainted: cannot parse "${text}"`);
  const [, key, value, effect] = m;
  if (effect !== undefined && !EFFECTS.has(effect))
    throw new ConfigError(
      `--reap-tainted: effect of "${text}" must be NoSchedule, PreferNoSchedule or NoExecute`,
    );
  return {
    key: key!,
    ...(value !== undefined ? { value } : {}),
    ...(effect !== undefined ? { effect } : {}),
  };
}
