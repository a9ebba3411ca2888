/** Pure tests: TypeBox schemas to structural CRD schemas, and defineCrd's manifest. */
import { describe, expect, it } from '@jest/globals';
import { type Static, Type } from '@sinclair/typebox';
import {
  CrdSchemaError,
  defineCrd,
  EmbeddedResource,
  IntOrString,
  ListMap,
  ListSet,
  PreserveUnknownFields,
  StringEnum,
  toStructuralSchema,
  withExtensions,
  withValidations,
} from '../src/crd/index.js';

const d = (description: string) => ({ description });

/** Runs `fn`, expecting a CrdSchemaError; returns it. */
function schemaError(fn: () => unknown): CrdSchemaError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CrdSchemaError) return err;
    throw err;
  }
  throw new Error('expected a CrdSchemaError, nothing was thrown');
}

function hasSymbols(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.getOwnPropertySymbols(value).length > 0) return true;
  return Object.values(value).some(hasSymbols);
}

describe('toStructuralSchema', () => {
  it('converts objects, required fields, nested objects and arrays, dropping TypeBox-only keys', () => {
    const schema = Type.Object(
      {
        name: Type.String({ ...d('Name.'), minLength: 1, maxLength: 63 }),
        replicas: Type.Optional(Type.Integer({ ...d('Replicas.'), minimum: 0, default: 1 })),
        tags: Type.Array(Type.String(), { ...d('Tags.'), maxItems: 10 }),
        nested: Type.Object({ enabled: Type.Boolean(d('On or off.')) }, { ...d('Nested.'), $id: 'Nested' }),
        labels: Type.Record(Type.String(), Type.String(), d('Labels.')),
        ratio: Type.Number({ ...d('Ratio.'), exclusiveMinimum: 0, maximum: 1 }),
      },
      { $id: 'Spec', description: 'The spec.' },
    );
    const out = toStructuralSchema(schema, { path: 'spec' });
    expect(out).toEqual({
      description: 'The spec.',
      type: 'object',
      required: ['labels', 'name', 'nested', 'ratio', 'tags'],
      properties: {
        name: { description: 'Name.', type: 'string', minLength: 1, maxLength: 63 },
        replicas: { description: 'Replicas.', type: 'integer', minimum: 0, default: 1 },
        tags: { description: 'Tags.', type: 'array', maxItems: 10, items: { type: 'string' } },
        nested: {
          description: 'Nested.',
          type: 'object',
          required: ['enabled'],
          properties: { enabled: { description: 'On or off.', type: 'boolean' } },
        },
        labels: { description: 'Labels.', type: 'object', additionalProperties: { type: 'string' } },
        // JSON Schema's numeric exclusiveMinimum is OpenAPI v3.0's boolean form.
        ratio: { description: 'Ratio.', type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1 },
      },
    });
    expect(hasSymbols(out)).toBe(false);
    expect(JSON.stringify(out)).not.toContain('$id');
  });

  it('turns unions of literals, TS enums and StringEnum into enum, and a union with null into nullable', () => {
    enum Mode {
      Fast = 'fast',
      Safe = 'safe',
    }
    const schema = Type.Object({
      size: Type.Union([Type.Literal('small'), Type.Literal('large')], d('Size.')),
      mode: Type.Enum(Mode, d('Mode.')),
      level: StringEnum(['low', 'high'], d('Level.')),
      count: Type.Literal(3, d('Always three.')),
      note: Type.Union([Type.String(), Type.Null()], d('A note or null.')),
      choice: Type.Optional(
        Type.Union([Type.Literal('a'), Type.Literal('b'), Type.Null()], d('a, b or null.')),
      ),
    });
    const props = toStructuralSchema(schema).properties!;
    expect(props.size).toEqual({ description: 'Size.', type: 'string', enum: ['small', 'large'] });
    expect(props.mode).toEqual({ description: 'Mode.', type: 'string', enum: ['fast', 'safe'] });
    expect(props.level).toEqual({ description: 'Level.', type: 'string', enum: ['low', 'high'] });
    expect(props.count).toEqual({ description: 'Always three.', type: 'number', enum: [3] });
    expect(props.note).toEqual({ description: 'A note or null.', type: 'string', nullable: true });
    expect(props.choice).toEqual({
      description: 'a, b or null.',
      type: 'string',
      enum: ['a', 'b'],
      nullable: true,
    });
  });

  it('writes int-or-string without a type, from the helper or from Union([Integer, String])', () => {
    const schema = Type.Object({
      port: IntOrString(d('Port number or name.')),
      surge: Type.Union([Type.Integer(), Type.String()], d('Count or percentage.')),
    });
    const props = toStructuralSchema(schema).properties!;
    expect(props.port).toEqual({ description: 'Port number or name.', 'x-kubernetes-int-or-string': true });
    expect(props.surge).toEqual({ description: 'Count or percentage.', 'x-kubernetes-int-or-string': true });
  });

  it('keeps CEL rules with every field, and checks them', () => {
    const rule = {
      rule: 'self.min <= self.max',
      message: 'min must not exceed max',
      messageExpression: "'min ' + string(self.min) + ' exceeds max'",
      reason: 'FieldValueInvalid' as const,
      fieldPath: '.min',
      optionalOldSelf: false,
    };
    const schema = withValidations(
      Type.Object({ min: Type.Integer(d('Min.')), max: Type.Integer(d('Max.')) }, d('Bounds.')),
      rule,
    );
    expect(toStructuralSchema(schema)['x-kubernetes-validations']).toEqual([rule]);

    const more = withValidations(schema, { rule: 'self.max <= 100' });
    expect(toStructuralSchema(more)['x-kubernetes-validations']).toHaveLength(2);

    const badReason = withExtensions(Type.Object({}), {
      validations: [{ rule: 'true', reason: 'Nope' as 'FieldValueInvalid' }],
    });
    expect(schemaError(() => toStructuralSchema(badReason, { path: 'spec' })).message).toContain('reason');
    const emptyRule = withValidations(Type.Object({}), { rule: ' ' });
    expect(schemaError(() => toStructuralSchema(emptyRule)).message).toContain('rule must be a non-empty');
  });

  it('supports list types, map type, preserve-unknown-fields and embedded resources', () => {
    const Port = Type.Object({ name: Type.String(d('Port name.')), port: Type.Integer(d('Port.')) });
    const schema = Type.Object({
      ports: ListMap(Port, ['name'], d('Ports by name.')),
      zones: ListSet(Type.String(), d('Zones.')),
      selector: withExtensions(Type.Object({ app: Type.String(d('App.')) }, d('Selector.')), {
        mapType: 'atomic',
      }),
      extra: PreserveUnknownFields(d('Anything.')),
      template: EmbeddedResource(d('An object.')),
    });
    const props = toStructuralSchema(schema).properties!;
    expect(props.ports).toMatchObject({
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
    expect(props.zones).toMatchObject({ type: 'array', 'x-kubernetes-list-type': 'set' });
    expect(props.selector).toMatchObject({ type: 'object', 'x-kubernetes-map-type': 'atomic' });
    expect(props.extra).toEqual({
      description: 'Anything.',
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
    expect(props.template).toMatchObject({ type: 'object', 'x-kubernetes-embedded-resource': true });

    const optionalKey = Type.Object({ name: Type.Optional(Type.String(d('Name.'))) });
    const err = schemaError(() =>
      toStructuralSchema(Type.Object({ ports: ListMap(optionalKey, ['name'], d('P.')) })),
    );
    expect(err.path).toBe('ports[*].name');
    expect(err.message).toContain('must be required or have a default');
  });

  it('keeps value-only anyOf (e.g. "one of these fields is set") when fields are declared outside', () => {
    const schema = Type.Unsafe({
      type: 'object',
      properties: { a: { type: 'string', description: 'A.' }, b: { type: 'string', description: 'B.' } },
      anyOf: [{ required: ['a'] }, { required: ['b'] }],
    });
    expect(toStructuralSchema(schema).anyOf).toEqual([{ required: ['a'] }, { required: ['b'] }]);

    const undeclared = Type.Unsafe({
      type: 'object',
      properties: { a: { type: 'string', description: 'A.' } },
      anyOf: [{ properties: { c: { minLength: 1 } } }],
    });
    expect(schemaError(() => toStructuralSchema(undeclared, { path: 'spec' })).message).toContain(
      "property 'c' used in anyOf must also be declared outside it",
    );
  });

  describe('refuses what the API server refuses, naming the field', () => {
    const cases: [string, () => unknown, string, string][] = [
      [
        'anyOf with types',
        () => Type.Object({ value: Type.Union([Type.String(), Type.Number()], d('V.')) }),
        'spec.value',
        'anyOf with types',
      ],
      [
        'properties with additionalProperties',
        () =>
          Type.Object({
            labels: Type.Object(
              { a: Type.String(d('A.')) },
              { ...d('L.'), additionalProperties: Type.String() },
            ),
          }),
        'spec.labels',
        'mutually exclusive',
      ],
      [
        'a field without type',
        () => Type.Object({ blob: Type.Unknown(d('B.')) }),
        'spec.blob',
        'has no type',
      ],
      [
        'an array item without type',
        () => Type.Object({ list: Type.Array(Type.Any(), d('L.')) }),
        'spec.list[*]',
        'has no type',
      ],
      [
        'uniqueItems',
        () => Type.Object({ s: Type.Array(Type.String(), { ...d('S.'), uniqueItems: true }) }),
        'spec.s',
        'ListSet',
      ],
      ['tuples', () => Type.Object({ t: Type.Tuple([Type.String()], d('T.')) }), 'spec.t', 'tuples'],
      [
        'intersections',
        () =>
          Type.Object({
            i: Type.Intersect(
              [Type.Object({ a: Type.String() }), Type.Object({ b: Type.String() })],
              d('I.'),
            ),
          }),
        'spec.i',
        'Type.Composite',
      ],
      [
        'recursive types',
        () => Type.Recursive((Self) => Type.Object({ children: Type.Array(Self, d('C.')) }, d('Node.'))),
        'spec.children[*]',
        'references are not supported',
      ],
      [
        'non-JSON types',
        () => Type.Object({ when: Type.Date(d('When.')) }),
        'spec.when',
        'type "Date" is not supported',
      ],
      ['missing descriptions', () => Type.Object({ name: Type.String() }), 'spec.name', 'has no description'],
      [
        'unknown keywords (typos)',
        () => Type.Object({ name: Type.String({ ...d('N.'), maxLenght: 3 }) }),
        'spec.name',
        "unknown schema keyword 'maxLenght'",
      ],
      [
        'unknown extensions',
        () => Type.Object({ l: Type.Array(Type.String(), { ...d('L.'), 'x-kubernetes-list-typ': 'set' }) }),
        'spec.l',
        "unknown extension 'x-kubernetes-list-typ'",
      ],
      [
        'non-string map keys',
        () => Type.Object({ m: Type.Record(Type.Number(), Type.String(), d('M.')) }),
        'spec.m',
        'patternProperties is not supported',
      ],
      [
        'a type beside int-or-string',
        () =>
          Type.Object({ p: Type.Unsafe({ type: 'string', 'x-kubernetes-int-or-string': true, ...d('P.') }) }),
        'spec.p',
        'must not declare a type',
      ],
      [
        'a list-type on a non-array',
        () => Type.Object({ p: Type.String({ ...d('P.'), 'x-kubernetes-list-type': 'set' }) }),
        'spec.p',
        'needs type array',
      ],
    ];
    it.each(cases)('%s', (_, build, path, reason) => {
      const err = schemaError(() => toStructuralSchema(build(), { path: 'spec', context: 'CRD x' }));
      expect(err.path).toBe(path);
      expect(err.message).toContain(`CRD x: ${path}: `);
      expect(err.message).toContain(reason);
    });

    it('accepts missing descriptions when told to', () => {
      const schema = Type.Object({ name: Type.String() });
      expect(toStructuralSchema(schema, { requireDescriptions: false }).properties?.name).toEqual({
        type: 'string',
      });
    });
  });
});

const WidgetSpec = Type.Object(
  {
    size: StringEnum(['small', 'large'], d('How big.')),
    replicas: Type.Optional(Type.Integer({ ...d('How many.'), minimum: 1 })),
  },
  d('What the widget should be.'),
);
const WidgetStatus = Type.Object({ phase: Type.Optional(Type.String(d('Where it is.'))) }, d('What it is.'));

describe('defineCrd', () => {
  const crd = defineCrd({
    group: 'widgets.example.com',
    kind: 'Widget',
    plural: 'widgets',
    shortNames: ['wd'],
    categories: ['all'],
    versions: [
      {
        name: 'v1',
        description: 'A widget.',
        spec: WidgetSpec,
        status: WidgetStatus,
        requireSpec: true,
        printerColumns: [{ name: 'Size', type: 'string', jsonPath: '.spec.size' }],
        subresources: {
          scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
        },
      },
    ],
  });

  it('lays out names, scope and the root object the way the API server expects', () => {
    expect(crd.metadata).toEqual({ name: 'widgets.widgets.example.com' });
    expect(crd.spec.names).toEqual({
      kind: 'Widget',
      listKind: 'WidgetList',
      plural: 'widgets',
      singular: 'widget',
      shortNames: ['wd'],
      categories: ['all'],
    });
    expect(crd.spec.scope).toBe('Namespaced');
    const [version] = crd.spec.versions;
    expect(version).toMatchObject({ name: 'v1', served: true, storage: true });
    expect(version!.subresources).toEqual({
      status: {},
      scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
    });
    expect(version!.additionalPrinterColumns).toEqual([
      { name: 'Size', type: 'string', jsonPath: '.spec.size' },
    ]);
    const root = version!.schema.openAPIV3Schema;
    expect(root.type).toBe('object');
    expect(root.description).toBe('A widget.');
    expect(root.required).toEqual(['spec']);
    expect(Object.keys(root.properties!)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    expect(root.properties!.metadata).toEqual({ type: 'object' });
    expect(root.properties!.apiVersion).toMatchObject({ type: 'string' });
    expect(root.properties!.spec!.description).toBe('What the widget should be.');
    expect(root.properties!.spec!.properties!.size).toEqual({
      description: 'How big.',
      type: 'string',
      enum: ['small', 'large'],
    });
  });

  it('gives the static type from the same schema', () => {
    const spec: Static<typeof WidgetSpec> = { size: 'small', replicas: 2 };
    // @ts-expect-error 'medium' is not one of the enum values
    const wrong: Static<typeof WidgetSpec> = { size: 'medium' };
    expect([spec.size, wrong.size]).toEqual(['small', 'medium']);
  });

  it('names the CRD, version and field when a schema is not structural', () => {
    expect(() =>
      defineCrd({
        group: 'widgets.example.com',
        kind: 'Widget',
        plural: 'widgets',
        versions: [
          {
            name: 'v1',
            description: 'A widget.',
            spec: Type.Object({ any: Type.Any(d('Anything.')) }, d('Spec.')),
          },
        ],
      }),
    ).toThrow('CRD widgets.widgets.example.com version v1: spec.any: has no type');
  });

  it('refuses bad names, versions and subresources', () => {
    const version = { name: 'v1', description: 'A widget.', spec: WidgetSpec };
    const base = { group: 'widgets.example.com', kind: 'Widget', plural: 'widgets', versions: [version] };
    expect(() => defineCrd({ ...base, group: 'nodot' })).toThrow('group must be a lowercase DNS name');
    expect(() => defineCrd({ ...base, plural: 'Widgets' })).toThrow('plural must be a lowercase DNS label');
    expect(() => defineCrd({ ...base, kind: 'widget' })).toThrow('kind must be CamelCase');
    expect(() => defineCrd({ ...base, versions: [version, { ...version, name: 'v2' }] })).toThrow(
      'exactly one version must have storage: true (found 0)',
    );
    expect(() => defineCrd({ ...base, versions: [{ ...version, subresources: { status: true } }] })).toThrow(
      'the status subresource needs a status schema',
    );
    expect(() => defineCrd({ ...base, versions: [{ ...version, spec: Type.String(d('S.')) }] })).toThrow(
      'spec: must be an object schema',
    );
    expect(() =>
      defineCrd({
        ...base,
        versions: [{ ...version, printerColumns: [{ name: 'X', type: 'string', jsonPath: 'spec.x' }] }],
      }),
    ).toThrow("jsonPath must start with '.'");
  });

  it('serves several versions with one storage version', () => {
    const two = defineCrd({
      group: 'widgets.example.com',
      kind: 'Widget',
      plural: 'widgets',
      versions: [
        {
          name: 'v1alpha1',
          description: 'Old.',
          spec: WidgetSpec,
          deprecated: true,
          deprecationWarning: 'use v1',
        },
        { name: 'v1', description: 'New.', spec: WidgetSpec, storage: true },
      ],
    });
    expect(two.spec.versions.map((v) => [v.name, v.storage, v.deprecated])).toEqual([
      ['v1alpha1', false, true],
      ['v1', true, undefined],
    ]);
  });
});
