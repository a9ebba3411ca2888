/**
 * Reading command-line flags the way every Keiko app takes them: `--name=value`, `--name value`, or a
 * bare `--name` meaning `true`; each flag may also come from the environment as
 * `<PREFIX>_<NAME_IN_UPPER_SNAKE>`, and a flag on the command line wins over its variable.
 * Unknown flags and positional arguments are errors naming them. Typing and validation stay with the
 * app, which knows each flag's meaning.
 */
export function readFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  known: readonly string[],
  envPrefix: string,
): Map<string, string> {
  const raw = new Map<string, string>();
  for (const flag of known) {
    const fromEnv = env[`${envPrefix}_${flag.toUpperCase().replaceAll('-', '_')}`];
    if (fromEnv !== undefined) raw.set(flag, fromEnv);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (!known.includes(name)) throw new Error(`unknown flag --${name}`);
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      } else {
        value = 'true';
      }
    }
    raw.set(name, value);
  }
  return raw;
}
