/**
 * `defineCrd`: one CustomResourceDefinition from TypeBox schemas, with the root object (apiVersion,
 * kind, metadata, spec, status) laid out the way the API server expects and every version's schema
 * converted to a structural one.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { TSchema } from '@sinclair/typebox';
import { CrdSchemaError, toStructuralSchema } from './structural.js';
import type {
  CustomResourceDefinition,
  CustomResourceDefinitionVersion,
  JSONSchemaProps,
  PrinterColumn,
  ScaleSubresource,
  ValidationRule,
} from './types.js';

/**
 * The TypeScript type of a custom object, e.g.
 * `type Widget = CustomObject<Static<typeof WidgetSpec>, Static<typeof WidgetStatus>>`.
 */
export interface CustomObject<Spec, Status = never> {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** One API version of a CRD. */
export interface CrdVersionOptions {
  /** e.g. `v1alpha1`, `v1`. */
  name: string;
  /** What the kind is for; `kubectl explain <plural>` shows it. */
  description: string;
  /** Schema of `.spec` (usually a `Type.Object`); its `description` documents the field. */
  spec: TSchema;
  /** Schema of `.status`; when given, the status subresource is enabled unless `subresources.status` is false. */
  status?: TSchema;
  /** Served by the API server (default true). */
  served?: boolean;
  /** The version objects are stored as; exactly one version has it (default: true when there is one version). */
  storage?: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  /** Refuse objects without `.spec` (default false). */
  requireSpec?: boolean;
  /** CEL rules on the whole object (`self.metadata.name`, `self.spec`, ...). */
  validations?: ValidationRule[];
  /** Columns of `kubectl get`; when set, the default `Age` column is gone unless listed (see {@link ageColumn}). */
  printerColumns?: PrinterColumn[];
  subresources?: { status?: boolean; scale?: ScaleSubresource };
  /** JSON paths usable in field selectors, e.g. `.spec.nodeName`. */
  selectableFields?: string[];
}

export interface CrdOptions {
  /** API group, a DNS subdomain with a dot, e.g. `keiko.keikoproj.io`. */
  group: string;
  /** CamelCase kind, e.g. `RollingUpgrade`. */
  kind: string;
  /** Lowercase plural used in URLs and `kubectl get`, e.g. `rollingupgrades`. */
  plural: string;
  /** Lowercase singular (default: kind in lowercase). */
  singular?: string;
  /** Default: `<kind>List`. */
  listKind?: string;
  shortNames?: string[];
  /** Groups for `kubectl get <category>`, e.g. `all`. */
  categories?: string[];
  /** Default: `Namespaced`. */
  scope?: 'Namespaced' | 'Cluster';
  versions: CrdVersionOptions[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Refuse schema fields without a description (default true). */
  requireDescriptions?: boolean;
}

/** The `Age` column `kubectl get` shows by default, to keep it beside custom printer columns. */
export function ageColumn(): PrinterColumn {
  return { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
}

const dnsLabel = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;

/**
 * The apiextensions.k8s.io/v1 CustomResourceDefinition for `options`. Throws a
 * {@link CrdSchemaError} naming the field for a schema the API server would refuse, and an `Error`
 * for invalid names or versions. Pure: the same options always give the same object.
 */
export function defineCrd(options: CrdOptions): CustomResourceDefinition {
  const name = `${options.plural}.${options.group}`;
  const fail = (reason: string): never => {
    throw new Error(`CRD ${name}: ${reason}`);
  };
  checkNames(options, fail);
  if (options.versions.length === 0) fail('needs at least one version');
  const versionNames = options.versions.map((v) => v.name);
  if (new Set(versionNames).size !== versionNames.length)
    fail(`duplicate version names: ${versionNames.join(', ')}`);
  const single = options.versions.length === 1;
  const storage = options.versions.filter((v) => v.storage ?? single);
  if (storage.length !== 1) fail(`exactly one version must have storage: true (found ${storage.length})`);

  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name,
      ...(options.labels ? { labels: { ...options.labels } } : {}),
      ...(options.annotations ? { annotations: { ...options.annotations } } : {}),
    },
    spec: {
      group: options.group,
      names: {
        kind: options.kind,
        listKind: options.listKind ?? `${options.kind}List`,
        plural: options.plural,
        singular: options.singular ?? options.kind.toLowerCase(),
        ...(options.shortNames?.length ? { shortNames: [...options.shortNames] } : {}),
        ...(options.categories?.length ? { categories: [...options.categories] } : {}),
      },
      scope: options.scope ?? 'Namespaced',
      versions: options.versions.map((v) => buildVersion(options, v, v.storage ?? single)),
    },
  };
}

function checkNames(options: CrdOptions, fail: (reason: string) => never): void {
  if (!dnsSubdomain.test(options.group))
    fail(`group must be a lowercase DNS name with a dot, not '${options.group}'`);
  if (!/^[A-Z][A-Za-z0-9]*$/.test(options.kind)) fail(`kind must be CamelCase, not '${options.kind}'`);
  for (const [field, value] of [
    ['plural', options.plural],
    ['singular', options.singular],
    ...(options.shortNames ?? []).map((s) => ['shortNames', s] as const),
    ...(options.categories ?? []).map((s) => ['categories', s] as const),
  ] as const) {
    if (value !== undefined && !dnsLabel.test(value))
      fail(`${field} must be a lowercase DNS label, not '${value}'`);
  }
}

function buildVersion(
  options: CrdOptions,
  version: CrdVersionOptions,
  storage: boolean,
): CustomResourceDefinitionVersion {
  const context = `CRD ${options.plural}.${options.group} version ${version.name}`;
  const fail = (reason: string): never => {
    throw new Error(`${context}: ${reason}`);
  };
  if (!dnsLabel.test(version.name)) fail('version name must be a lowercase DNS label such as v1alpha1');
  const statusSubresource = version.subresources?.status ?? version.status !== undefined;
  if (statusSubresource && !version.status) fail('the status subresource needs a status schema');
  const columns = version.printerColumns ?? [];
  for (const column of columns) {
    if (!column.jsonPath.startsWith('.'))
      fail(`printer column '${column.name}': jsonPath must start with '.'`);
  }
  const columnNames = columns.map((c) => c.name);
  if (new Set(columnNames).size !== columnNames.length) fail('printer column names must be unique');
  const scale = version.subresources?.scale;
  if (
    scale &&
    (!scale.specReplicasPath.startsWith('.spec.') || !scale.statusReplicasPath.startsWith('.status.'))
  ) {
    fail('scale subresource paths must start with .spec. and .status.');
  }

  return {
    name: version.name,
    served: version.served ?? true,
    storage,
    ...(version.deprecated ? { deprecated: true } : {}),
    ...(version.deprecationWarning ? { deprecationWarning: version.deprecationWarning } : {}),
    schema: { openAPIV3Schema: rootSchema(options, version, context) },
    ...(statusSubresource || scale
      ? {
          subresources: {
            ...(statusSubresource ? { status: {} } : {}),
            ...(scale ? { scale: { ...scale } } : {}),
          },
        }
      : {}),
    ...(columns.length ? { additionalPrinterColumns: columns.map((c) => ({ ...c })) } : {}),
    ...(version.selectableFields?.length
      ? { selectableFields: version.selectableFields.map((jsonPath) => ({ jsonPath })) }
      : {}),
  };
}

function rootSchema(options: CrdOptions, version: CrdVersionOptions, context: string): JSONSchemaProps {
  const convert = (schema: TSchema, path: 'spec' | 'status'): JSONSchemaProps => {
    const converted = toStructuralSchema(schema, {
      path,
      context,
      requireDescriptions: options.requireDescriptions ?? true,
    });
    if (converted.type !== 'object') {
      throw new CrdSchemaError(path, `must be an object schema, not ${converted.type ?? 'untyped'}`, context);
    }
    return converted;
  };
  const spec = convert(version.spec, 'spec');
  const status = version.status ? convert(version.status, 'status') : undefined;
  const rootValidations = version.validations?.length ? version.validations : undefined;
  if (rootValidations) {
    // Reuse the converter's rule checks on the root rules.
    toStructuralSchema(
      { type: 'object', 'x-kubernetes-validations': rootValidations },
      { path: '<root>', context },
    );
  }
  return {
    description: version.description,
    type: 'object',
    properties: {
      apiVersion: {
        description: `Versioned schema of this object (${options.group}/${version.name}); the API server converts between served versions.`,
        type: 'string',
      },
      kind: {
        description: `The REST resource this object represents: ${options.kind}.`,
        type: 'string',
      },
      // The API server validates metadata itself; a CRD may restrict only name and generateName.
      metadata: { type: 'object' },
      spec: { description: `Desired state of the ${options.kind}.`, ...spec },
      ...(status ? { status: { description: `Observed state of the ${options.kind}.`, ...status } } : {}),
    },
    ...(version.requireSpec ? { required: ['spec'] } : {}),
    ...(rootValidations ? { 'x-kubernetes-validations': structuredClone(rootValidations) } : {}),
  };
}
