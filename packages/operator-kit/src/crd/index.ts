/**
 * @keiko/operator-kit/crd: CustomResourceDefinitions from TypeBox schemas.
 *
 * A schema is written once with TypeBox: `Static<typeof Spec>` is the TypeScript type the controller
 * uses, and {@link defineCrd} turns the same schema into a structural OpenAPI v3 schema in an
 * apiextensions.k8s.io/v1 CRD (x-kubernetes-* extensions, CEL rules, printer columns, status and
 * scale subresources). {@link toYaml} renders it deterministically and {@link writeCrds} /
 * {@link runCrdScript} keep the chart's committed YAML current, or fail CI when it is not.
 */
export {
  ageColumn,
  type CrdOptions,
  type CrdVersionOptions,
  type CustomObject,
  defineCrd,
} from './define.js';
export {
  type EmbeddedObject,
  EmbeddedResource,
  IntOrString,
  type KubernetesExtensions,
  ListMap,
  ListSet,
  PreserveUnknownFields,
  StringEnum,
  withExtensions,
  withValidations,
} from './extensions.js';
export { CrdSchemaError, type StructuralSchemaOptions, toStructuralSchema } from './structural.js';
export type {
  CustomResourceDefinition,
  CustomResourceDefinitionNames,
  CustomResourceDefinitionVersion,
  JSONSchemaProps,
  PrinterColumn,
  ScaleSubresource,
  SchemaType,
  ValidationReason,
  ValidationRule,
} from './types.js';
export {
  crdFileName,
  runCrdScript,
  type WriteCrdsOptions,
  type WriteCrdsResult,
  writeCrds,
} from './write.js';
export { GENERATED_MARKER, generatedHeader, type ToYamlOptions, toYaml } from './yaml.js';
