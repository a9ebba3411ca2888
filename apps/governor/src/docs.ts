/**
 * Renders the flag tables of docs/governor.md from the option tables in options.ts, between the
 * `<!-- flags:<command> -->` markers, so documented defaults cannot drift from the code.
 * `node dist/docs.js` writes; `node dist/docs.js --check` fails when the committed file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, envName, OPTIONS } from './config.js';

export function flagTable(command: Command): string {
  const rows = OPTIONS[command].map((o) => {
    const def = Array.isArray(o.default)
      ? o.default.length
        ? o.default.join(',')
        : '[]'
      : String(o.default === '' ? '""' : o.default);
    const bounds = [o.min !== undefined ? `≥${o.min}` : '', o.max !== undefined ? `≤${o.max}` : '']
      .filter(Boolean)
      .join(' ');
    const env = [envName(o.flag), ...(o.env ?? [])].map((e) => `\`${e}\``).join(' ');
    const note = [o.added ? '*new*' : '', o.changed ? `*changed: ${o.changed}*` : '']
      .filter(Boolean)
      .join(' ');
    return `| \`--${o.flag}\` | \`${o.key}\` | ${env} | \`${def}\`${bounds ? ` (${bounds})` : ''} | ${o.help}${note ? ` ${note}` : ''} |`;
  });
  return ['| flag | file key | env | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

export function renderDocs(text: string): string {
  let out = text;
  for (const command of ['node', 'pod', 'pdb'] as Command[]) {
    const re = new RegExp(`(<!-- flags:${command} -->)[\\s\\S]*?(<!-- /flags:${command} -->)`);
    out = out.replace(re, `$1\n${flagTable(command)}\n$2`);
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs/governor.md');
  const current = readFileSync(file, 'utf8');
  const next = renderDocs(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('docs/governor.md flag tables are stale: run `pnpm --filter @keiko/governor docs`');
      process.exit(1);
    }
  } else writeFileSync(file, next);
}
