/**
 * The subset of kubectl's JSONPath that printer columns use: `.a.b`, `.a[0]`, `.a[*].b` and filters
 * `[?(@.type=="Ready")]`. Returns the first match (as kubectl shows it in a column).
 */
type Step =
  | { field: string }
  | { index: number }
  | { all: true }
  | { filter: { path: string[]; value: string } };

export function parsePath(path: string): Step[] {
  const steps: Step[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\*\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)\]/g;
  let m: RegExpExecArray | null = re.exec(path);
  while (m) {
    if (m[1] !== undefined) steps.push({ field: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) steps.push({ filter: { path: m[3].split('.'), value: m[4] ?? '' } });
    else steps.push({ all: true });
    m = re.exec(path);
  }
  return steps;
}

export function evaluate(obj: unknown, path: string): unknown {
  let current: unknown[] = [obj];
  for (const step of parsePath(path)) {
    const next: unknown[] = [];
    for (const v of current) {
      if (v === null || v === undefined) continue;
      if ('field' in step) next.push((v as Record<string, unknown>)[step.field]);
      else if ('index' in step) next.push(Array.isArray(v) ? v[step.index] : undefined);
      else if ('all' in step) next.push(...(Array.isArray(v) ? v : []));
      else if (Array.isArray(v)) {
        for (const item of v) {
          let x: unknown = item;
          for (const f of step.filter.path) x = (x as Record<string, unknown> | undefined)?.[f];
          if (String(x) === step.filter.value) next.push(item);
        }
      }
    }
    current = next.filter((x) => x !== undefined);
  }
  return current[0];
}

export function display(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
