/**
 * Wire types of apiextensions.k8s.io/v1 CustomResourceDefinition, with the JSON keys the API server
 * reads (`x-kubernetes-validations`, `$ref`, ...). client-node's generated types use camelCase names
 * such as `xKubernetesValidations` and its serializer drops what it does not know, so a generated CRD
 * is kept as plain JSON of these shapes and sent to the API server as such.
 */

/** The types a structural schema node may declare (`null` is spelled `nullable: true`). */
export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

/** How `reason` classifies a failed CEL rule in the API server's response. */
export type ValidationReason =
  | 'FieldValueInvalid'
  | 'FieldValueForbidden'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate';

/**
 * One CEL rule of `x-kubernetes-validations`. `self` is the value of the node the rule sits on;
 * `oldSelf` (in transition rules) its previous value.
 */
export interface ValidationRule {
  /** A CEL expression that must evaluate to true, e.g. `self.minSize <= self.maxSize`. */
  rule: string;
  /** Message returned when the rule fails (a fixed string, no line breaks). */
  message?: string;
  /** A CEL expression evaluating to the message; wins over `message` when it evaluates to a string. */
  messageExpression?: string;
  /** Machine-readable reason in the 422 response; `FieldValueInvalid` when unset. */
  reason?: ValidationReason;
  /** JSON path relative to the node, e.g. `.maxSize`, named in the error instead of the node itself. */
  fieldPath?: string;
  /** Evaluate transition rules also when there is no old value (`oldSelf` is then an optional). */
  optionalOldSelf?: boolean;
}

/** apiextensions.k8s.io/v1 JSONSchemaProps as the API server reads it, limited to what structural schemas allow. */
export interface JSONSchemaProps {
  description?: string;
  type?: SchemaType;
  format?: string;
  title?: string;
  default?: unknown;
  example?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  maximum?: number;
  exclusiveMaximum?: boolean;
  minimum?: number;
  exclusiveMinimum?: boolean;
  multipleOf?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  maxItems?: number;
  minItems?: number;
  maxProperties?: number;
  minProperties?: number;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  externalDocs?: { description?: string; url?: string };
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

/** A column of `kubectl get` output (`additionalPrinterColumns`). */
export interface PrinterColumn {
  /** Column header, e.g. `Ready`. */
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** Simple JSON path into the object, e.g. `.status.phase` (no filters). */
  jsonPath: string;
  description?: string;
  /** OpenAPI format hint such as `date-time` or `int32`. */
  format?: string;
  /** 0 (default) shows in `kubectl get`; higher only with `-o wide`. */
  priority?: number;
}

/** The scale subresource, which lets `kubectl scale` and the HorizontalPodAutoscaler act on the object. */
export interface ScaleSubresource {
  /** e.g. `.spec.replicas`. */
  specReplicasPath: string;
  /** e.g. `.status.replicas`. */
  statusReplicasPath: string;
  /** e.g. `.status.selector` (a string label selector), needed by the HorizontalPodAutoscaler. */
  labelSelectorPath?: string;
}

export interface CustomResourceDefinitionVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema: { openAPIV3Schema: JSONSchemaProps };
  subresources?: { status?: Record<string, never>; scale?: ScaleSubresource };
  additionalPrinterColumns?: PrinterColumn[];
  selectableFields?: { jsonPath: string }[];
}

export interface CustomResourceDefinitionNames {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
}

/** An apiextensions.k8s.io/v1 CustomResourceDefinition, ready to serialize or server-side apply. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: CustomResourceDefinitionNames;
    scope: 'Namespaced' | 'Cluster';
    versions: CustomResourceDefinitionVersion[];
  };
}
