/**
 * The live terminal view: every custom resource kind the sandbox installed, with its CRD's printer
 * columns (what `kubectl get` shows), the nodes per node group (./groups.ts), each example against
 * its expected state, and each controller's health.
 * Rendered as plain text; main.ts redraws it in place.
 */
import { display, evaluate } from './jsonpath.js';

export interface Column {
  name: string;
  jsonPath: string;
}

export interface KindView {
  kind: string;
  plural: string;
  namespaced: boolean;
  columns: Column[];
  objects: Record<string, unknown>[];
}

export interface ProcessView {
  name: string;
  state: string;
  detail?: string;
}

export interface NodeView {
  name: string;
  group: string;
  ready: boolean;
  unschedulable: boolean;
}

export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function renderKind(view: KindView, maxRows = 12): string[] {
  const header = [
    ...(view.namespaced ? ['NAMESPACE'] : []),
    'NAME',
    ...view.columns.map((c) => c.name.toUpperCase()),
  ];
  const rows = view.objects.slice(0, maxRows).map((o) => {
    const meta = (o.metadata ?? {}) as { name?: string; namespace?: string };
    return [
      ...(view.namespaced ? [meta.namespace ?? ''] : []),
      meta.name ?? '',
      ...view.columns.map((c) => display(evaluate(o, c.jsonPath)).slice(0, 40)),
    ];
  });
  const more = view.objects.length > maxRows ? [`  ... ${view.objects.length - maxRows} more`] : [];
  return [
    `${view.kind} (${view.objects.length})`,
    ...(rows.length ? table(header, rows).map((l) => `  ${l}`) : ['  (none)']),
    ...more,
  ];
}

export function renderNodes(nodes: NodeView[]): string[] {
  const groups = new Map<string, NodeView[]>();
  for (const n of nodes) groups.set(n.group, [...(groups.get(n.group) ?? []), n]);
  const rows = [...groups]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, ns]) => [
      group,
      String(ns.length),
      String(ns.filter((n) => n.ready).length),
      String(ns.filter((n) => n.unschedulable).length),
    ]);
  return [
    `Nodes (${nodes.length})`,
    ...(rows.length
      ? table(['GROUP', 'NODES', 'READY', 'CORDONED'], rows).map((l) => `  ${l}`)
      : ['  (none)']),
  ];
}

export function renderProcesses(ps: ProcessView[]): string[] {
  return [
    'Controllers',
    ...table(
      ['NAME', 'STATE', 'DETAIL'],
      ps.map((p) => [p.name, p.state, p.detail ?? '']),
    ).map((l) => `  ${l}`),
  ];
}

/**
 * The examples against their expected states: one line once all are there, else the ones still
 * waiting (at most `maxRows`), each with the first thing it still lacks.
 */
export function renderExamples(
  states: { name: string; expected: string; ok: boolean; why: string }[],
  maxRows = 6,
): string[] {
  const waiting = states.filter((s) => !s.ok);
  if (waiting.length === 0) return [`Examples: all ${states.length} in their expected state`];
  const rows = waiting.slice(0, maxRows).map((s) => {
    const [first = '', ...rest] = s.why.split('; ');
    return [s.name, `${first.slice(0, 90)}${rest.length ? ` (+${rest.length} more)` : ''}`];
  });
  return [
    `Examples (${states.length - waiting.length}/${states.length} in their expected state; waiting for)`,
    ...table(['EXAMPLE', 'NOW'], rows).map((l) => `  ${l}`),
    ...(waiting.length > maxRows ? [`  ... ${waiting.length - maxRows} more`] : []),
  ];
}

/** The view cut to the terminal's height, so a redraw never scrolls. */
export function fitToHeight(lines: string[], rows: number): string[] {
  if (lines.length <= rows) return lines;
  return [
    ...lines.slice(0, rows - 1),
    `... ${lines.length - rows + 1} more lines (a taller terminal shows them)`,
  ];
}
