import { CutoverError } from '../errors.js';
import { ConditionEvaluationError, describeValue, evaluateNode, type ConditionValue } from './condition-evaluator.js';
import { parseConditionSyntax, type ConditionNode } from './condition-parser.js';
import { ConditionSyntaxError } from './condition-tokenizer.js';

/**
 * The `success_condition` / `failure_condition` of an analysis metric: a
 * small expression over the measurement's `result`, as in Argo Rollouts'
 * AnalysisTemplates, for example
 *
 *   result < 0.01
 *   result.p95 <= 500 && result.count >= 100
 *   len(result) > 0 && result[0] > 3
 *   default(result.errors, 0) / result.total < 0.05
 *
 * It is parsed once, at config load, so a typo fails `cutover server` before
 * any deploy instead of failing a canary step. Nothing is ever handed to
 * eval or new Function: the parser builds plain data and the evaluator walks
 * it, with `result` as the only variable and len, isNaN, abs and default as
 * the only functions (see condition-parser.ts for the grammar and
 * condition-evaluator.ts for the semantics).
 */
export interface Condition {
  readonly source: string;
  readonly ast: ConditionNode;
}

export type ConditionOutcome = { ok: true; value: boolean } | { ok: false; error: string };
export type ExpressionOutcome = { ok: true; value: ConditionValue } | { ok: false; error: string };

/** Details of an ANALYSIS_CONDITION_INVALID error, for config validation to point at the spot. */
export interface ConditionErrorDetails {
  condition: string;
  /** 1-based column in the condition. */
  column: number;
  expected: string;
  found: string;
}

/** Parses a condition; throws CutoverError ANALYSIS_CONDITION_INVALID with the column and what was expected. */
export function parseCondition(source: string): Condition {
  try {
    return { source, ast: parseConditionSyntax(source) };
  } catch (error) {
    if (!(error instanceof ConditionSyntaxError)) throw error;
    const details: ConditionErrorDetails = {
      condition: source,
      column: error.column,
      expected: error.expected,
      found: error.found,
    };
    throw new CutoverError(
      'ANALYSIS_CONDITION_INVALID',
      `invalid condition ${JSON.stringify(source)}: ${error.message}`,
      { details },
    );
  }
}

/** Evaluates a condition that must come out true or false; every failure is reported, none thrown. */
export function evaluateCondition(condition: Condition, result: unknown): ConditionOutcome {
  const outcome = evaluateExpression(condition, result);
  if (!outcome.ok) return outcome;
  if (typeof outcome.value !== 'boolean') {
    return { ok: false, error: `the condition must be true or false, but it is ${describeValue(outcome.value)}` };
  }
  return { ok: true, value: outcome.value };
}

/** Evaluates any expression of the language (for tests and for showing a measurement's derived values). */
export function evaluateExpression(condition: Condition, result: unknown): ExpressionOutcome {
  try {
    return { ok: true, value: evaluateNode(condition.ast, result) };
  } catch (error) {
    if (error instanceof ConditionEvaluationError) return { ok: false, error: error.message };
    throw error;
  }
}

/**
 * Whether a condition says what NaN means: it calls isNaN() or default()
 * (which maps NaN to its fallback). Without either, every comparison with a
 * NaN result is false, so the condition cannot tell no data from good data.
 */
export function mentionsNaN(condition: Condition): boolean {
  const visit = (node: ConditionNode): boolean => {
    switch (node.type) {
      case 'literal':
      case 'result':
        return false;
      case 'member':
        return visit(node.object);
      case 'index':
        return visit(node.object) || visit(node.index);
      case 'call':
        return node.name === 'isNaN' || node.name === 'default' || node.args.some(visit);
      case 'unary':
        return visit(node.operand);
      case 'binary':
        return visit(node.left) || visit(node.right);
    }
  };
  return visit(condition.ast);
}
