/**
 * What an example says its final state is, and whether an object is in it.
 *
 * An example object carries the annotation `sandbox.keiko.dev/expect`, one or more clauses separated
 * by `;` or new lines, each `<printer-column JSONPath> <op> <value>`:
 *
 * - `=`  the value, as `kubectl get` would show it in a column (`.status.currentStatus=completed`);
 * - `>=` a number at least this (`.status.successCount>=1`, for counters that keep growing);
 * - `~`  a regular expression that matches somewhere (`.data.group~"market":"spot"`).
 *
 * An object without the annotation is expected to report a `Ready`, `Complete`, `Completed` or
 * `Succeeded` condition with status `True`. Pure: the sandbox and its test both use it.
 */
import { display, evaluate } from './jsonpath.js';

export const EXPECT_ANNOTATION = 'sandbox.keiko.dev/expect';

export interface Clause {
  path: string;
  op: '=' | '>=' | '~';
  value: string;
}

// A path is a run of printer-column JSONPath steps; a filter step may itself contain `==`.
const PATH =
  /^((?:\.[A-Za-z0-9_-]+|\[\d+\]|\[\*\]|\[\?\(@\.[A-Za-z0-9_.-]+\s*==\s*["'][^"']*["']\)\])+)\s*(>=|=|~)\s*(.*)$/;

/** Parses an expectation text; throws naming the clause that does not parse. */
export function parseExpectation(text: string): Clause[] {
  return text
    .split(/[;\n]/)
    .map((c) => c.trim())
    .filter(Boolean)
    .map((clause) => {
      const m = PATH.exec(clause);
      if (!m) throw new Error(`${EXPECT_ANNOTATION}: cannot parse "${clause}" (want <jsonpath>=<value>)`);
      return { path: m[1]!, op: m[2] as Clause['op'], value: m[3]!.trim() };
    });
}

/** The clauses `obj` does not satisfy yet, with what it shows instead; empty when it is there. */
export function unmet(obj: unknown, clauses: readonly Clause[]): { clause: Clause; actual: string }[] {
  return clauses
    .map((clause) => ({ clause, actual: display(evaluate(obj, clause.path)) }))
    .filter(({ clause, actual }) => {
      if (clause.op === '=') return actual !== clause.value;
      if (clause.op === '>=') return !(actual !== '' && Number(actual) >= Number(clause.value));
      return !new RegExp(clause.value).test(actual);
    });
}

const DONE_CONDITIONS = ['Ready', 'Complete', 'Completed', 'Succeeded'];

/** The default expectation: a Ready/Complete/Completed/Succeeded condition that is True. */
export function reportsDone(obj: unknown): boolean {
  const conditions =
    (obj as { status?: { conditions?: { type: string; status: string }[] } })?.status?.conditions ?? [];
  return conditions.some((c) => DONE_CONDITIONS.includes(c.type) && c.status === 'True');
}

/** The expectation an object states (its annotation), or undefined for the default one. */
export function expectationOf(obj: {
  metadata?: { annotations?: Record<string, string> };
}): Clause[] | undefined {
  const text = obj.metadata?.annotations?.[EXPECT_ANNOTATION];
  return text === undefined ? undefined : parseExpectation(text);
}

/** Whether `obj` is in the state its example expects; `why` says what is missing. */
export function check(
  obj: { metadata?: { annotations?: Record<string, string> } } | undefined,
  clauses: readonly Clause[] | undefined,
): { ok: boolean; why: string } {
  if (!obj) return { ok: false, why: 'not found' };
  if (!clauses) return reportsDone(obj) ? { ok: true, why: '' } : { ok: false, why: 'not Ready yet' };
  const missing = unmet(obj, clauses);
  return {
    ok: missing.length === 0,
    why: missing
      .map(
        ({ clause, actual }) =>
          `${clause.path}="${actual}" (want ${clause.op === '=' ? '' : clause.op}${clause.value})`,
      )
      .join('; '),
  };
}

/** `kind namespace/name` or `kind name`, for messages. */
export function describeRef(ref: { kind: string; namespace?: string; name: string }): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}
