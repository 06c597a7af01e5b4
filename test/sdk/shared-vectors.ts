import { readFileSync } from 'node:fs';
import type { Evaluation, FlagValueType } from '../../src/flags/evaluate.js';
import type { FlagEvaluation } from '../../src/sdk/flags/index.js';

/** test/flags/vectors.json, read as test/flags/evaluate.test.ts reads it, for the SDK and the provider. */
export interface Vector {
  name: string;
  flag: unknown;
  context: Record<string, unknown>;
  segments?: unknown;
  expectedType?: FlagValueType;
  note?: string;
  expected: Pick<Evaluation, 'value' | 'variant' | 'reason' | 'ruleIndex' | 'errorCode'>;
}

const vectorsFile = new URL('../../../test/flags/vectors.json', import.meta.url);
export const vectors = (JSON.parse(readFileSync(vectorsFile, 'utf8')) as { vectors: Vector[] }).vectors;

/** The fields a vector pins; errorMessage is for people and may differ between SDKs. */
export function pinned(evaluation: FlagEvaluation): Vector['expected'] {
  const { value, variant, reason, ruleIndex, errorCode } = evaluation;
  return {
    value,
    variant,
    reason,
    ...(ruleIndex === undefined ? {} : { ruleIndex }),
    ...(errorCode === undefined ? {} : { errorCode }),
  } as Vector['expected'];
}

/** Vectors whose flag the server refuses (it validates every flag): the SDK meets those only from a newer server or a cache. */
export function isParseErrorVector(vector: Vector): boolean {
  return vector.expected.errorCode === 'PARSE_ERROR';
}

/**
 * The OpenFeature getter a vector maps to: its expectedType, else the type of
 * the value it expects (errors without a type go through the boolean getter:
 * the error comes before any type check). Null for a null value, which no
 * typed getter can present.
 */
export function openFeatureType(vector: Vector): FlagValueType | null {
  if (vector.expectedType !== undefined) return vector.expectedType;
  const value = vector.expected.value;
  if (vector.expected.reason === 'ERROR') return 'boolean';
  if (value === null) return null;
  if (typeof value === 'boolean' || typeof value === 'string' || typeof value === 'number')
    return typeof value as FlagValueType;
  return 'object';
}
