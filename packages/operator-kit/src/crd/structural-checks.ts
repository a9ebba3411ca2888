/**
 * The API server's rules for `x-kubernetes-*` extensions and for the insides of allOf/anyOf/oneOf/not,
 * checked while converting so that a mistake names the field instead of failing the whole CRD later.
 */
import type { Walk } from './structural.js';
import type { JSONSchemaProps, ValidationRule } from './types.js';

const knownExtensions = new Set([
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
const ruleKeys = new Set<keyof ValidationRule>([
  'rule',
  'message',
  'messageExpression',
  'reason',
  'fieldPath',
  'optionalOldSelf',
]);
const reasons = new Set([
  'FieldValueInvalid',
  'FieldValueForbidden',
  'FieldValueRequired',
  'FieldValueDuplicate',
]);

export function checkExtensions(node: JSONSchemaProps, walk: Walk): void {
  const { path } = walk;
  for (const key of Object.keys(node)) {
    if (key.startsWith('x-kubernetes-') && !knownExtensions.has(key)) {
      walk.fail(path, `unknown extension '${key}' (known: ${[...knownExtensions].join(', ')})`);
    }
  }
  const preserve = node['x-kubernetes-preserve-unknown-fields'];
  if (preserve !== undefined && preserve !== true) {
    walk.fail(path, 'x-kubernetes-preserve-unknown-fields must be true or absent');
  }
  for (const key of ['x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource'] as const) {
    if (node[key] !== undefined && typeof node[key] !== 'boolean')
      walk.fail(path, `${key} must be a boolean`);
  }
  if (node['x-kubernetes-embedded-resource']) {
    if (node.type !== 'object') walk.fail(path, 'an embedded resource must have type object');
    if (!node.properties && !preserve) {
      walk.fail(path, 'an embedded resource needs properties or x-kubernetes-preserve-unknown-fields');
    }
  }
  const mapType = node['x-kubernetes-map-type'];
  if (mapType !== undefined) {
    if (mapType !== 'atomic' && mapType !== 'granular') {
      walk.fail(path, `x-kubernetes-map-type must be atomic or granular, not ${JSON.stringify(mapType)}`);
    }
    if (node.type !== 'object') walk.fail(path, 'x-kubernetes-map-type needs type object');
  }
  checkListType(node, walk);
  checkValidations(node['x-kubernetes-validations'], walk);
}

function checkListType(node: JSONSchemaProps, walk: Walk): void {
  const { path } = walk;
  const listType = node['x-kubernetes-list-type'];
  const keys = node['x-kubernetes-list-map-keys'];
  if (keys !== undefined && listType !== 'map') {
    walk.fail(path, 'x-kubernetes-list-map-keys needs x-kubernetes-list-type: map');
  }
  if (listType === undefined) return;
  if (listType !== 'atomic' && listType !== 'set' && listType !== 'map') {
    walk.fail(path, `x-kubernetes-list-type must be atomic, set or map, not ${JSON.stringify(listType)}`);
  }
  if (node.type !== 'array') walk.fail(path, 'x-kubernetes-list-type needs type array');
  const items = node.items;
  if (listType === 'atomic' || !items) return;
  if (items.nullable) walk.fail(`${path}[*]`, `items of a ${listType} list cannot be nullable`);
  if (listType === 'set') {
    const atomicObject = items.type === 'object' && items['x-kubernetes-map-type'] === 'atomic';
    const atomicList = items.type === 'array' && (items['x-kubernetes-list-type'] ?? 'atomic') === 'atomic';
    if ((items.type === 'object' || items.type === 'array') && !atomicObject && !atomicList) {
      walk.fail(`${path}[*]`, 'items of a set must be scalars, atomic objects or atomic lists');
    }
    return;
  }
  if (!Array.isArray(keys) || keys.length === 0) {
    walk.fail(path, 'x-kubernetes-list-type map needs x-kubernetes-list-map-keys');
  }
  if (new Set(keys).size !== keys.length) walk.fail(path, 'x-kubernetes-list-map-keys has duplicates');
  if (items.type !== 'object') walk.fail(`${path}[*]`, 'items of a map list must be objects');
  for (const key of keys) {
    const field = items.properties?.[key];
    if (!field) walk.fail(`${path}[*]`, `list map key '${key}' is not a property of the items`);
    if (field.type === 'object' || field.type === 'array') {
      walk.fail(`${path}[*].${key}`, 'a list map key must be a scalar');
    }
    if (!items.required?.includes(key) && field.default === undefined) {
      walk.fail(`${path}[*].${key}`, 'a list map key must be required or have a default');
    }
    if (field.nullable) walk.fail(`${path}[*].${key}`, 'a list map key cannot be nullable');
  }
}

function checkValidations(rules: unknown, walk: Walk): void {
  const { path } = walk;
  if (rules === undefined) return;
  if (!Array.isArray(rules)) walk.fail(path, 'x-kubernetes-validations must be an array of rules');
  for (const [i, rule] of rules.entries()) {
    const where = `x-kubernetes-validations[${i}]`;
    if (typeof rule !== 'object' || rule === null) walk.fail(path, `${where} must be an object`);
    const record = rule as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!ruleKeys.has(key as keyof ValidationRule)) walk.fail(path, `${where} has unknown key '${key}'`);
    }
    if (typeof record.rule !== 'string' || record.rule.trim() === '') {
      walk.fail(path, `${where}.rule must be a non-empty CEL expression`);
    }
    for (const key of ['message', 'messageExpression', 'fieldPath'] as const) {
      if (record[key] !== undefined && typeof record[key] !== 'string') {
        walk.fail(path, `${where}.${key} must be a string`);
      }
    }
    if (typeof record.message === 'string' && /[\r\n]/.test(record.message)) {
      walk.fail(path, `${where}.message must not contain line breaks`);
    }
    if (record.reason !== undefined && !reasons.has(record.reason as string)) {
      walk.fail(path, `${where}.reason must be one of ${[...reasons].join(', ')}`);
    }
  }
}

const forbiddenInJunctor = ['description', 'type', 'default', 'additionalProperties', 'nullable'] as const;

/**
 * Inside allOf/anyOf/oneOf/not only value checks are allowed (structural rule 3): no description,
 * type, default, additionalProperties or nullable, at any depth.
 */
export function checkJunctorMember(member: JSONSchemaProps, walk: Walk): void {
  for (const key of forbiddenInJunctor) {
    if (member[key] !== undefined) {
      walk.fail(
        walk.path,
        `${key} is not allowed inside allOf/anyOf/oneOf/not of a structural schema (declare it on the field itself)`,
      );
    }
  }
  for (const [name, property] of Object.entries(member.properties ?? {})) {
    checkJunctorMember(property, { ...walk, path: `${walk.path}.${name}` });
  }
  if (member.items) checkJunctorMember(member.items, { ...walk, path: `${walk.path}[*]` });
}
