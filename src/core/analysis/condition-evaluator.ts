import type { BinaryOperator, ConditionNode } from './condition-parser.js';

/**
 * Evaluates a parsed condition against a measurement's `result` (a number, a
 * boolean, a string, null, or JSON-like arrays and objects from a provider).
 *
 * Strict and explicit, because a silently wrong answer promotes a bad deploy:
 * - no coercion: `&&`, `||`, `!` need booleans; `< <= > >=` need two numbers
 *   or two strings; `- * / %` need numbers; `+` adds numbers or joins strings;
 *   `==` / `!=` compare numbers, strings, booleans and null by value (a number
 *   never equals a string) and refuse lists and objects;
 * - a missing field, an index out of range, a type mismatch or a division by
 *   zero is an evaluation error (the measurement's phase becomes `error`),
 *   except inside the first argument of default(value, fallback);
 * - fields are read only if they are the object's own data (Object.hasOwn on
 *   plain objects and arrays), so `result.constructor` or `result.__proto__`
 *   reach nothing but a missing-field error.
 */
export type ConditionValue = number | string | boolean | null | readonly unknown[] | Readonly<Record<string, unknown>>;

export class ConditionEvaluationError extends Error {}

export function evaluateNode(node: ConditionNode, result: unknown): ConditionValue {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'result':
      return checkValue(result, 'result');
    case 'member':
      return readField(evaluateNode(node.object, result), node.name, node);
    case 'index':
      return readIndex(evaluateNode(node.object, result), evaluateNode(node.index, result), node);
    case 'unary':
      return evaluateUnary(node.operator, evaluateNode(node.operand, result), node);
    case 'binary':
      return evaluateBinary(node, result);
    case 'call':
      return evaluateCall(node, result);
  }
}

function evaluateUnary(operator: '!' | '-', operand: ConditionValue, node: ConditionNode): ConditionValue {
  if (operator === '!') return !requireBoolean(operand, '!', node);
  return -requireNumber(operand, 'unary -', node);
}

function evaluateBinary(node: Extract<ConditionNode, { type: 'binary' }>, result: unknown): ConditionValue {
  const { operator } = node;
  const left = evaluateNode(node.left, result);
  if (operator === '&&' || operator === '||') {
    const first = requireBoolean(left, operator, node);
    if (operator === '&&' ? !first : first) return first;
    return requireBoolean(evaluateNode(node.right, result), operator, node);
  }
  const right = evaluateNode(node.right, result);
  switch (operator) {
    case '==':
    case '!=': {
      const equal = requireScalar(left, operator, node) === requireScalar(right, operator, node);
      return operator === '==' ? equal : !equal;
    }
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(operator, left, right, node);
    case '+':
      if (typeof left === 'string' && typeof right === 'string') return left + right;
      return requireNumber(left, '+', node) + requireNumber(right, '+', node);
    default:
      return arithmetic(operator, requireNumber(left, operator, node), requireNumber(right, operator, node), node);
  }
}

function compare(
  operator: '<' | '<=' | '>' | '>=',
  left: ConditionValue,
  right: ConditionValue,
  node: ConditionNode,
): boolean {
  const bothNumbers = typeof left === 'number' && typeof right === 'number';
  const bothStrings = typeof left === 'string' && typeof right === 'string';
  if (!bothNumbers && !bothStrings) {
    fail(
      node,
      `'${operator}' compares two numbers or two strings, got ${describeValue(left)} and ${describeValue(right)}`,
    );
  }
  switch (operator) {
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
  }
}

function arithmetic(operator: BinaryOperator, a: number, b: number, node: ConditionNode): number {
  if ((operator === '/' || operator === '%') && b === 0) fail(node, 'division by zero');
  switch (operator) {
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    default:
      return fail(node, `unknown operator '${operator}'`);
  }
}

function evaluateCall(node: Extract<ConditionNode, { type: 'call' }>, result: unknown): ConditionValue {
  const [first, second] = node.args as [ConditionNode, ConditionNode | undefined];
  switch (node.name) {
    case 'default': {
      let value: ConditionValue;
      try {
        value = evaluateNode(first, result);
      } catch (error) {
        if (!(error instanceof ConditionEvaluationError)) throw error;
        return evaluateNode(second!, result);
      }
      return value === null || Number.isNaN(value) ? evaluateNode(second!, result) : value;
    }
    case 'len': {
      const value = evaluateNode(first, result);
      if (typeof value === 'string' || Array.isArray(value)) return value.length;
      if (isPlainObject(value)) return Object.keys(value).length;
      return fail(node, `len() takes a string, a list or an object, got ${describeValue(value)}`);
    }
    case 'isNaN': {
      const value = evaluateNode(first, result);
      return typeof value === 'number' && Number.isNaN(value);
    }
    case 'abs':
      return Math.abs(requireNumber(evaluateNode(first, result), 'abs()', node));
  }
}

function readField(object: ConditionValue, name: string, node: ConditionNode): ConditionValue {
  if (!isPlainObject(object)) {
    const hint =
      typeof object === 'string' || Array.isArray(object) ? '; use len(...) for a length or [n] for an element' : '';
    return fail(node, `cannot read field '${name}' of ${describeValue(object)}${hint}`);
  }
  if (!Object.hasOwn(object, name)) {
    const fields = Object.keys(object);
    const known =
      fields.length === 0
        ? 'it has no fields'
        : `it has ${fields.slice(0, 10).join(', ')}${fields.length > 10 ? ', ...' : ''}`;
    return fail(node, `field '${name}' is missing (${known})`);
  }
  return checkValue(object[name], `field '${name}'`);
}

function readIndex(object: ConditionValue, index: ConditionValue, node: ConditionNode): ConditionValue {
  if (Array.isArray(object)) {
    if (typeof index !== 'number' || !Number.isInteger(index)) {
      return fail(node, `a list is indexed by a whole number, got ${describeValue(index)}`);
    }
    if (index < 0 || index >= object.length) {
      return fail(
        node,
        `index ${index} is out of range (the list has ${object.length} element${object.length === 1 ? '' : 's'})`,
      );
    }
    return checkValue(object[index], `element ${index}`);
  }
  if (typeof index === 'string') return readField(object, index, node);
  return fail(node, `cannot index ${describeValue(object)} with ${describeValue(index)}`);
}

/** Admits only JSON-like values from the provider; anything else is an error, never executed or walked. */
function checkValue(value: unknown, what: string): ConditionValue {
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean')
    return value;
  if (Array.isArray(value) || isPlainObject(value)) return value as ConditionValue;
  if (value === undefined) throw new ConditionEvaluationError(`${what} has no value`);
  throw new ConditionEvaluationError(
    `${what} is a ${typeof value}, not a number, string, boolean, null, list or object`,
  );
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function requireBoolean(value: ConditionValue, operator: string, node: ConditionNode): boolean {
  if (typeof value !== 'boolean') fail(node, `'${operator}' needs true or false, got ${describeValue(value)}`);
  return value;
}

function requireNumber(value: ConditionValue, operator: string, node: ConditionNode): number {
  if (typeof value !== 'number') fail(node, `'${operator}' needs numbers, got ${describeValue(value)}`);
  return value;
}

function requireScalar(value: ConditionValue, operator: string, node: ConditionNode): number | string | boolean | null {
  if (typeof value === 'object' && value !== null) {
    fail(node, `'${operator}' compares numbers, strings, booleans or null, got ${describeValue(value)}`);
  }
  return value;
}

function fail(node: ConditionNode, message: string): never {
  throw new ConditionEvaluationError(`${message} (at column ${node.column})`);
}

export function describeValue(value: ConditionValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}
