/**
 * Converting a TypeBox (JSON Schema) schema into a structural OpenAPI v3 schema, the only kind an
 * apiextensions.k8s.io/v1 CRD accepts.
 *
 * "Structural" (Kubernetes' term) means: every field has exactly one `type` (or is int-or-string or
 * preserve-unknown-fields), `anyOf`/`allOf`/`oneOf`/`not` only add value checks to fields declared
 * outside them, and `properties` and `additionalProperties` never meet. TypeBox shapes that have a
 * structural equivalent are rewritten (a Union of Literals becomes `enum`, a Union with Null becomes
 * `nullable`, a string-keyed Record becomes `additionalProperties`); anything else throws a
 * {@link CrdSchemaError} naming the field, so a bad schema fails when the YAML is generated rather
 * than when the API server refuses the CRD.
 */
import { checkExtensions, checkJunctorMember } from './structural-checks.js';
import type { JSONSchemaProps, SchemaType } from './types.js';

/** A schema the API server would refuse, with the path of the offending field (e.g. `spec.ports[*].name`). */
export class CrdSchemaError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    context?: string,
  ) {
    super(`${context ? `${context}: ` : ''}${path || '<root>'}: ${reason}`);
    this.name = 'CrdSchemaError';
  }
}

export interface StructuralSchemaOptions {
  /** Path of the schema's root in error messages, e.g. `spec` (default: empty). */
  path?: string;
  /** Prefix of error messages, e.g. `CRD widgets.example.com version v1`. */
  context?: string;
  /**
   * Refuse object properties without a `description` (default true): `kubectl explain` and generated
   * API docs show nothing else to the user.
   */
  requireDescriptions?: boolean;
}

interface Walk {
  path: string;
  requireDescriptions: boolean;
  /** Inside allOf/anyOf/oneOf/not, where only value checks are allowed. */
  inJunctor: boolean;
  fail(path: string, reason: string): never;
}

const schemaTypes = new Set<string>(['object', 'array', 'string', 'integer', 'number', 'boolean']);
/** Keys TypeBox (or JSON Schema tooling) adds that mean nothing to the API server. */
const dropped = new Set(['$id', '$schema', '$comment', 'examples', 'readOnly', 'writeOnly']);
const unsupported: Record<string, string> = {
  $ref: 'references are not supported in CRD schemas (Type.Ref, Type.Recursive); inline the schema',
  $defs: 'definitions are not supported in CRD schemas; inline the schema',
  definitions: 'definitions are not supported in CRD schemas; inline the schema',
  id: 'id is not supported in CRD schemas',
  dependencies: 'dependencies is not supported; use a CEL rule (withValidations)',
  dependentRequired: 'dependentRequired is not supported; use a CEL rule (withValidations)',
  dependentSchemas: 'dependentSchemas is not supported; use a CEL rule (withValidations)',
  if: 'if/then/else is not supported; use a CEL rule (withValidations)',
  contains: 'contains is not supported; use a CEL rule such as self.exists(x, ...)',
  propertyNames: 'propertyNames is not supported; use a CEL rule such as self.all(k, ...)',
  additionalItems: 'additionalItems is not supported',
};
const numberKeys = new Set([
  'maximum',
  'minimum',
  'multipleOf',
  'maxLength',
  'minLength',
  'maxItems',
  'minItems',
  'maxProperties',
  'minProperties',
]);
const stringKeys = new Set(['description', 'title', 'format', 'pattern']);
/** The key patterns TypeBox gives `Type.Record(Type.String(), V)`: any key, i.e. a map. */
const anyKeyPatterns = new Set(['^(.*)$', '^.*$', '.*', '^(.+)$']);

/**
 * The structural OpenAPI v3 schema for `schema` (a TypeBox schema or plain JSON Schema object).
 * Throws {@link CrdSchemaError} for constructs the API server refuses. Does not mutate its input.
 */
export function toStructuralSchema(schema: unknown, options: StructuralSchemaOptions = {}): JSONSchemaProps {
  const walk: Walk = {
    path: options.path ?? '',
    requireDescriptions: options.requireDescriptions ?? true,
    inJunctor: false,
    fail(path, reason) {
      throw new CrdSchemaError(path, reason, options.context);
    },
  };
  return convert(schema, walk);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(walk: Walk, path: string, inJunctor = walk.inJunctor): Walk {
  return { ...walk, path, inJunctor };
}

function propertyPath(path: string, name: string): string {
  const key = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : JSON.stringify(name);
  return path ? `${path}.${key}` : key;
}

function convert(input: unknown, walk: Walk): JSONSchemaProps {
  const { path } = walk;
  if (!isRecord(input)) walk.fail(path, 'is not a schema object');
  // Object.entries sees string keys only, which drops TypeBox's symbol keys (Kind, Optional, Hint...).
  const source = rewriteToStructural(input, walk);
  const out: JSONSchemaProps = {};
  const target = out as Record<string, unknown>;
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined || dropped.has(key)) continue;
    if (key in unsupported) walk.fail(path, unsupported[key]!);
    if (stringKeys.has(key)) {
      if (typeof value !== 'string') walk.fail(path, `${key} must be a string`);
      target[key] = value;
    } else if (numberKeys.has(key)) {
      if (typeof value !== 'number') walk.fail(path, `${key} must be a number`);
      target[key] = value;
    } else if (key === 'exclusiveMaximum' || key === 'exclusiveMinimum') {
      convertExclusiveBound(key, value, source, out, walk);
    } else if (key.startsWith('x-kubernetes-') || key === 'nullable' || key === 'externalDocs') {
      target[key] = structuredClone(value);
    } else {
      convertKeyword(key, value, out, walk);
    }
  }
  if (out.properties && Object.keys(out.properties).length === 0 && !out.required) delete out.properties;
  checkNode(out, walk);
  return out;
}

function convertKeyword(key: string, value: unknown, out: JSONSchemaProps, walk: Walk): void {
  const { path } = walk;
  switch (key) {
    case 'type':
      if (typeof value !== 'string' || !schemaTypes.has(value)) {
        walk.fail(
          path,
          `type ${JSON.stringify(value)} is not supported (a CRD field is one of ${[...schemaTypes].join(', ')})`,
        );
      }
      out.type = value as SchemaType;
      return;
    case 'default':
    case 'example':
      out[key] = structuredClone(value);
      return;
    case 'enum':
      if (!Array.isArray(value) || value.length === 0) walk.fail(path, 'enum must be a non-empty array');
      out.enum = structuredClone(value);
      return;
    case 'required':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
        walk.fail(path, 'required must be an array of property names');
      }
      if (value.length > 0) out.required = [...new Set(value as string[])].sort();
      return;
    case 'properties':
      if (!isRecord(value)) walk.fail(path, 'properties must be an object');
      out.properties = {};
      for (const [name, schema] of Object.entries(value)) {
        const fieldPath = propertyPath(path, name);
        const converted = convert(schema, child(walk, fieldPath));
        if (walk.requireDescriptions && !walk.inJunctor && !converted.description) {
          walk.fail(
            fieldPath,
            'has no description; `kubectl explain` shows it to users, so every field needs one (pass { description } to the TypeBox constructor)',
          );
        }
        out.properties[name] = converted;
      }
      return;
    case 'patternProperties': {
      const patterns = isRecord(value) ? Object.keys(value) : [];
      if (patterns.length !== 1 || !anyKeyPatterns.has(patterns[0]!) || !isRecord(value)) {
        walk.fail(
          path,
          'patternProperties is not supported; use Type.Record(Type.String(), V) for a map, and a CEL rule (self.all(k, ...)) to restrict keys',
        );
      }
      out.additionalProperties = convert(value[patterns[0]!], child(walk, `${path}.<key>`));
      return;
    }
    case 'additionalProperties':
      if (value === false) return; // pruning already drops unknown fields; the API server refuses `false` beside properties
      if (value === true) {
        walk.fail(path, 'additionalProperties: true is not structural; use PreserveUnknownFields()');
      }
      out.additionalProperties = convert(value, child(walk, `${path}.<key>`));
      return;
    case 'unevaluatedProperties':
      if (value === false) return; // as additionalProperties: false
      walk.fail(path, 'unevaluatedProperties is not supported; use PreserveUnknownFields()');
      return;
    case 'items':
      if (Array.isArray(value)) {
        walk.fail(
          path,
          'tuples (items as an array, Type.Tuple) are not supported; use an object with named fields',
        );
      }
      out.items = convert(value, child(walk, `${path}[*]`));
      return;
    case 'uniqueItems':
      if (value === true) {
        walk.fail(
          path,
          'uniqueItems: true is refused by the API server (quadratic cost); use ListSet() (x-kubernetes-list-type: set)',
        );
      }
      return;
    case 'allOf':
    case 'anyOf':
    case 'oneOf':
      if (!Array.isArray(value) || value.length === 0) walk.fail(path, `${key} must be a non-empty array`);
      out[key] = value.map((member, i) => {
        const memberWalk = child(walk, `${path}.${key}[${i}]`, true);
        const converted = convert(member, memberWalk);
        checkJunctorMember(converted, memberWalk);
        return converted;
      });
      return;
    case 'not': {
      const memberWalk = child(walk, `${path}.not`, true);
      out.not = convert(value, memberWalk);
      checkJunctorMember(out.not, memberWalk);
      return;
    }
    default:
      walk.fail(path, `unknown schema keyword '${key}' (not part of a CRD's OpenAPI v3 schema; a typo?)`);
  }
}

/** JSON Schema's numeric `exclusiveMinimum: n` is OpenAPI v3.0's `minimum: n, exclusiveMinimum: true`. */
function convertExclusiveBound(
  key: 'exclusiveMaximum' | 'exclusiveMinimum',
  value: unknown,
  source: Record<string, unknown>,
  out: JSONSchemaProps,
  walk: Walk,
): void {
  const bound = key === 'exclusiveMaximum' ? 'maximum' : 'minimum';
  if (typeof value === 'boolean') {
    if (value) out[key] = true;
    return;
  }
  if (typeof value !== 'number') walk.fail(walk.path, `${key} must be a number or a boolean`);
  if (typeof source[bound] === 'number')
    walk.fail(walk.path, `set either ${bound} or a numeric ${key}, not both`);
  out[bound] = value;
  out[key] = true;
}

/**
 * Rewrites TypeBox shapes that have a structural equivalent: Union of Literals (or Type.Enum) to
 * `enum`, a Union with Null to `nullable`, `integer | string` to int-or-string, `const` to a
 * one-value `enum`, a `type` array with `null` to `nullable`.
 */
function rewriteToStructural(input: Record<string, unknown>, walk: Walk): Record<string, unknown> {
  let node: Record<string, unknown> = { ...input };
  if (Array.isArray(node.type)) {
    const types = node.type.filter((t) => t !== 'null');
    if (types.length !== 1) walk.fail(walk.path, `a field has one type, not ${JSON.stringify(node.type)}`);
    node = { ...node, type: types[0], ...(types.length < node.type.length ? { nullable: true } : {}) };
  }
  if (node.type === 'null') {
    walk.fail(walk.path, 'type null is not supported; use Type.Union([T, Type.Null()]) for a nullable field');
  }
  for (const junctor of ['anyOf', 'oneOf'] as const) {
    const members = node[junctor];
    if (Array.isArray(members) && members.some(declaresType)) {
      const { [junctor]: _, ...outer } = node;
      node = collapseUnion(members, outer, walk);
    }
  }
  if (Array.isArray(node.allOf) && node.allOf.some(declaresType)) {
    walk.fail(
      walk.path,
      'allOf of typed schemas (Type.Intersect) is not structural; use Type.Composite or one Type.Object',
    );
  }
  if ('const' in node) {
    const { const: value, ...rest } = node;
    node = { ...rest, enum: [value], type: rest.type ?? jsonType(value, walk) };
  }
  return node;
}

/** Union members declare types; value-only junctor members (`{ required: ['a'] }`) do not. */
function declaresType(member: unknown): boolean {
  return isRecord(member) && ('type' in member || 'const' in member);
}

function collapseUnion(
  members: unknown[],
  outer: Record<string, unknown>,
  walk: Walk,
): Record<string, unknown> {
  const nonNull = members.filter((m) => !(isRecord(m) && m.type === 'null')) as Record<string, unknown>[];
  const nullable = nonNull.length < members.length ? { nullable: true } : {};
  if (nonNull.length === 0) walk.fail(walk.path, 'a union of only null has no type');
  if (nonNull.every((m) => isRecord(m) && 'const' in m)) {
    const values = nonNull.map((m) => m.const);
    const types = new Set(nonNull.map((m) => m.type ?? jsonType(m.const, walk)));
    if (types.size !== 1) {
      walk.fail(walk.path, `an enum has values of one type, not ${[...types].join(' and ')}`);
    }
    return { ...outer, type: [...types][0], enum: values, ...nullable };
  }
  if (nonNull.length === 1) return { ...nonNull[0], ...outer, ...nullable };
  const types = nonNull.map((m) => (isRecord(m) ? m.type : undefined));
  const bare = nonNull.every((m) => Object.keys(m).every((k) => k === 'type'));
  if (bare && types.length === 2 && types.includes('integer') && types.includes('string')) {
    return { ...outer, 'x-kubernetes-int-or-string': true, ...nullable };
  }
  return walk.fail(
    walk.path,
    `a union of ${types.map((t) => t ?? 'untyped').join(' | ')} (anyOf with types) is not structural: a field has one type. ` +
      'Use StringEnum or a Union of Literals, IntOrString(), or one object with optional fields and a CEL rule',
  );
}

function jsonType(value: unknown, walk: Walk): SchemaType {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return walk.fail(walk.path, `literal ${JSON.stringify(value)} is not a string, number or boolean`);
}

function checkNode(node: JSONSchemaProps, walk: Walk): void {
  const { path } = walk;
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (!walk.inJunctor) {
    if (intOrString && node.type) walk.fail(path, 'an int-or-string field must not declare a type');
    if (!node.type && !intOrString && !preserve) {
      walk.fail(
        path,
        'has no type (Type.Unknown/Type.Any are not structural); give it a type, or use PreserveUnknownFields() or IntOrString()',
      );
    }
    if (node.type === 'array' && !node.items) walk.fail(path, 'an array needs an items schema');
  }
  if (node.properties && node.additionalProperties) {
    walk.fail(
      path,
      'properties and additionalProperties are mutually exclusive in a CRD (an object is either a struct or a map)',
    );
  }
  if (node.properties && node.required) {
    const missing = node.required.filter((name) => !(name in node.properties!));
    if (missing.length > 0) walk.fail(path, `required names undeclared properties: ${missing.join(', ')}`);
  }
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    for (const member of node[junctor] ?? []) checkDeclaredOutside(member, node, `${path}.${junctor}`, walk);
  }
  if (node.not) checkDeclaredOutside(node.not, node, `${path}.not`, walk);
  checkExtensions(node, walk);
}

/** A field or item named inside a junctor must also be declared outside it (structural rule 2). */
function checkDeclaredOutside(
  member: JSONSchemaProps,
  node: JSONSchemaProps,
  path: string,
  walk: Walk,
): void {
  for (const name of Object.keys(member.properties ?? {})) {
    if (!node.properties?.[name]) {
      walk.fail(path, `property '${name}' used in ${path.split('.').pop()} must also be declared outside it`);
    }
  }
  if (member.items && !node.items)
    walk.fail(path, 'items used in a junctor must also be declared outside it');
}

export type { Walk };
