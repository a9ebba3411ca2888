/**
 * TypeBox helpers for the Kubernetes-specific parts of a CRD schema (`x-kubernetes-*` extensions).
 *
 * Each helper returns an ordinary TypeBox schema, so `Static<typeof X>` still gives the TypeScript
 * type; {@link toStructuralSchema} later checks the extensions against the API server's rules.
 */
import {
  type ArrayOptions,
  CloneType,
  type SchemaOptions,
  type Static,
  type TArray,
  type TObject,
  type TSchema,
  type TUnsafe,
  Type,
} from '@sinclair/typebox';
import type { ValidationRule } from './types.js';

/** The `x-kubernetes-*` extensions, by friendlier names. */
export interface KubernetesExtensions {
  /** Keep fields the schema does not declare instead of pruning them. */
  preserveUnknownFields?: true;
  /** The value is a whole Kubernetes object (apiVersion, kind, metadata are validated as such). */
  embeddedResource?: boolean;
  /** The value is an integer or a string (e.g. a port number or name, `25%`). */
  intOrString?: boolean;
  /** How server-side apply merges the list: replace whole (`atomic`), unique scalars (`set`), keyed (`map`). */
  listType?: 'atomic' | 'set' | 'map';
  /** With `listType: 'map'`: the item fields identifying an entry. */
  listMapKeys?: string[];
  /** How server-side apply merges the object: field by field (`granular`, default) or whole (`atomic`). */
  mapType?: 'atomic' | 'granular';
  /** CEL rules checked by the API server on create and update. */
  validations?: ValidationRule[];
}

const extensionKeys: Record<keyof KubernetesExtensions, string> = {
  preserveUnknownFields: 'x-kubernetes-preserve-unknown-fields',
  embeddedResource: 'x-kubernetes-embedded-resource',
  intOrString: 'x-kubernetes-int-or-string',
  listType: 'x-kubernetes-list-type',
  listMapKeys: 'x-kubernetes-list-map-keys',
  mapType: 'x-kubernetes-map-type',
  validations: 'x-kubernetes-validations',
};

/**
 * A copy of `schema` carrying Kubernetes extensions; the static type is unchanged. Validations add
 * to the ones the schema already has.
 */
export function withExtensions<T extends TSchema>(schema: T, extensions: KubernetesExtensions): T {
  const options: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(extensions)) {
    const key = extensionKeys[name as keyof KubernetesExtensions];
    if (key === undefined) throw new Error(`withExtensions: unknown extension '${name}'`);
    options[key] = value;
  }
  const existing = (schema as Record<string, unknown>)['x-kubernetes-validations'];
  if (extensions.validations && Array.isArray(existing)) {
    options['x-kubernetes-validations'] = [...existing, ...extensions.validations];
  }
  // CloneType(schema, options) lets the schema's own keys win; extensions must win here.
  return { ...CloneType(schema), ...options };
}

/**
 * Adds CEL validation rules to a schema node, e.g. on an object:
 * `withValidations(Type.Object({...}), { rule: 'self.min <= self.max', message: 'min must not exceed max' })`.
 * The API server estimates each rule's cost from `maxLength`/`maxItems`; bound strings and lists a
 * rule iterates over, or the CRD is refused as too expensive.
 */
export function withValidations<T extends TSchema>(schema: T, ...rules: ValidationRule[]): T {
  return withExtensions(schema, { validations: rules });
}

/** An integer or a string (`x-kubernetes-int-or-string`), such as a port name or number, or `25%`. */
export function IntOrString(options: SchemaOptions = {}): TUnsafe<number | string> {
  return Type.Unsafe<number | string>({ ...options, 'x-kubernetes-int-or-string': true });
}

/**
 * A string restricted to `values` (`enum`), typed as their union. `Type.Union` of `Type.Literal`s
 * converts to the same schema; this is the shorter spelling.
 */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnsafe<T[number]> {
  if (values.length === 0) throw new Error('StringEnum: needs at least one value');
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** An object whose fields are kept as written, without a schema (`x-kubernetes-preserve-unknown-fields`). */
export function PreserveUnknownFields(options: SchemaOptions = {}): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({
    ...options,
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  });
}

/** A complete Kubernetes object embedded in a field, e.g. a Pod template given verbatim. */
export interface EmbeddedObject {
  apiVersion: string;
  kind: string;
  metadata?: Record<string, unknown>;
  [field: string]: unknown;
}

/**
 * A whole Kubernetes object as a field value (`x-kubernetes-embedded-resource`): the API server
 * checks `apiVersion`, `kind` and `metadata` and keeps the rest as written.
 */
export function EmbeddedResource(options: SchemaOptions = {}): TUnsafe<EmbeddedObject> {
  return Type.Unsafe<EmbeddedObject>({
    ...options,
    type: 'object',
    'x-kubernetes-embedded-resource': true,
    'x-kubernetes-preserve-unknown-fields': true,
  });
}

/**
 * A list of objects keyed by `keys` (`x-kubernetes-list-type: map`), so server-side apply merges
 * entries by key and two writers can own different entries. Each key must be a required (or
 * defaulted) scalar field of the item.
 */
export function ListMap<T extends TObject>(
  items: T,
  keys: readonly [Extract<keyof Static<T>, string>, ...Extract<keyof Static<T>, string>[]],
  options: ArrayOptions = {},
): TArray<T> {
  return Type.Array(items, {
    ...options,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': [...keys],
  });
}

/** A list of unique scalars (`x-kubernetes-list-type: set`); the Kubernetes spelling of `uniqueItems`. */
export function ListSet<T extends TSchema>(items: T, options: ArrayOptions = {}): TArray<T> {
  return Type.Array(items, { ...options, 'x-kubernetes-list-type': 'set' });
}
