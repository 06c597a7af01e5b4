import { closestKey } from '../../config/closest-key.js';
import {
  isRolloutPercentage,
  DEFAULT_STICKINESS,
  NUMBER_OPERATORS,
  SEMVER_OPERATORS,
  SET_OPERATORS,
  STRING_OPERATORS,
  type Constraint,
  type Rollout,
  type Rule,
} from '../../flags/flag-model.js';
import { parseSemver } from '../../flags/semver-compare.js';

/**
 * `--rule` of `cutover flags set`: a targeting rule in one line, so a person
 * does not have to write JSON on a command line.
 *
 *   RULE       := [NAME ":"] [CONDITIONS] "->" TARGET
 *   CONDITIONS := "always" | CONDITION ("and" CONDITION)*
 *   CONDITION  := ATTRIBUTE ["not"] OPERATOR VALUE | ["not"] "in_segment" SEGMENT
 *   VALUE      := one word or "a quoted string" (in, not_in: a comma-separated list)
 *   TARGET     := VARIANT | PERCENT "%" VARIANT ["by" ATTRIBUTE]
 *
 * e.g. `country in SE,NO -> on`, `staff: email ends_with @example.com -> on`,
 * `plan equals pro and seats num_gte 10 -> 50% on by accountId`,
 * `not in_segment beta -> off`. A text starting with `{` is a JSON rule
 * (or `[`, so a JSON list is refused as JSON rather than read as shorthand).
 *
 * Pure: text in, a Rule or a problem out. Variant names are checked against
 * the flag by the server, which validates the whole flag.
 */

export type RuleShorthandResult = { ok: true; rule: Rule } | { ok: false; problem: string };

export const RULE_OPERATORS: readonly string[] = [
  ...STRING_OPERATORS,
  ...SET_OPERATORS,
  ...NUMBER_OPERATORS,
  ...SEMVER_OPERATORS,
  'in_segment',
];

/** For `--help`: the grammar and examples, one per line. */
export const RULE_SHORTHAND_HELP = `A rule is JSON ({"constraints":[...],"variant":"on"}) or a shorthand:
  [NAME:] ATTRIBUTE [not] OPERATOR VALUE [and ...] -> VARIANT
  [NAME:] ... -> PERCENT% VARIANT [by ATTRIBUTE]     (a sticky split inside the rule)
  always -> VARIANT                                  (matches everyone)
Operators: ${RULE_OPERATORS.join(', ')}.
"in" and "not_in" take a comma-separated list; quote a value with spaces: "New York".
Examples:
  --rule "country in SE,NO -> on"
  --rule "staff: email ends_with @example.com -> on"
  --rule "appVersion semver_gt 2.0.0 -> on"
  --rule "plan equals pro and seats num_gte 10 -> 50% on by accountId"
  --rule "in_segment beta -> on"`;

type Token =
  | { kind: 'word'; text: string; column: number }
  | { kind: 'quoted'; text: string; column: number }
  | { kind: 'comma'; column: number }
  | { kind: 'arrow'; column: number };

class ShorthandProblem extends Error {}

const problem = (message: string): never => {
  throw new ShorthandProblem(message);
};

export function parseRuleShorthand(text: string): RuleShorthandResult {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) return { ok: true, rule: parseJsonRule(trimmed) };
    return { ok: true, rule: parseTokens(tokenize(trimmed)) };
  } catch (error) {
    if (error instanceof ShorthandProblem) return { ok: false, problem: error.message };
    throw error;
  }
}

/** The JSON form is passed on as written: the server checks it with the rest of the flag. */
function parseJsonRule(text: string): Rule {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return problem(`not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return problem('expected a JSON object such as {"constraints":[],"variant":"on"}');
  return value as Rule;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at] as string;
    const column = at + 1;
    if (/\s/.test(char)) {
      at += 1;
    } else if (char === ',') {
      tokens.push({ kind: 'comma', column });
      at += 1;
    } else if (text.startsWith('->', at)) {
      tokens.push({ kind: 'arrow', column });
      at += 2;
    } else if (char === '"') {
      const end = closingQuote(text, at);
      if (end === -1) problem(`the quoted value at column ${column} has no closing "`);
      tokens.push({ kind: 'quoted', text: JSON.parse(text.slice(at, end + 1)) as string, column });
      at = end + 1;
    } else {
      let end = at;
      while (end < text.length && !/[\s,"]/.test(text[end] as string) && !text.startsWith('->', end)) end += 1;
      tokens.push({ kind: 'word', text: text.slice(at, end), column });
      at = end;
    }
  }
  return tokens;
}

/** The index of the `"` closing the JSON string that opens at `start`, or -1. */
function closingQuote(text: string, start: number): number {
  for (let at = start + 1; at < text.length; at++) {
    if (text[at] === '\\') at += 1;
    else if (text[at] === '"') return at;
  }
  return -1;
}

function describe(token: Token | undefined): string {
  if (token === undefined) return 'the end';
  if (token.kind === 'comma') return `"," at column ${token.column}`;
  if (token.kind === 'arrow') return `"->" at column ${token.column}`;
  return `${JSON.stringify(token.text)} at column ${token.column}`;
}

function parseTokens(tokens: Token[]): Rule {
  const arrows = tokens.filter((token) => token.kind === 'arrow');
  if (arrows.length === 0)
    problem('missing "-> VARIANT": say which variant the rule serves, e.g. "country in SE,NO -> on"');
  if (arrows.length > 1) problem(`expected one "->", found ${arrows.length}`);
  const arrow = tokens.findIndex((token) => token.kind === 'arrow');
  let left = tokens.slice(0, arrow);
  let name: string | undefined;
  const first = left[0];
  const second = left[1];
  if (first?.kind === 'word' && first.text.endsWith(':')) {
    name = first.text.slice(0, -1);
    if (name === '') problem(`expected a rule name before ":" at column ${first.column}`);
    left = left.slice(1);
  } else if (first?.kind === 'quoted' && second?.kind === 'word' && second.text === ':') {
    // `"rule with spaces": ...`
    name = first.text;
    left = left.slice(2);
  }
  const constraints = parseConditions(left);
  const target = parseTarget(tokens.slice(arrow + 1), arrows[0] as Token);
  const rule =
    'rollout' in target ? { constraints, rollout: target.rollout } : { constraints, variant: target.variant };
  return name === undefined ? rule : { name, ...rule };
}

function parseConditions(tokens: Token[]): Constraint[] {
  if (tokens.length === 0) return [];
  if (tokens.length === 1 && isWord(tokens[0], 'always')) return [];
  const constraints: Constraint[] = [];
  let start = 0;
  for (let at = 0; at <= tokens.length; at++) {
    if (at < tokens.length && !isWord(tokens[at], 'and')) continue;
    const part = tokens.slice(start, at);
    if (part.length === 0)
      problem(`expected a condition ${at < tokens.length ? `before ${describe(tokens[at])}` : 'after the last "and"'}`);
    constraints.push(parseCondition(part));
    start = at + 1;
  }
  return constraints;
}

function isWord(token: Token | undefined, text: string): boolean {
  return token?.kind === 'word' && token.text.toLowerCase() === text;
}

function parseCondition(tokens: Token[]): Constraint {
  let at = 0;
  let inverted = false;
  // `not in_segment beta`: the segment operator has no attribute in front.
  if (isWord(tokens[0], 'not') && isWord(tokens[1], 'in_segment')) {
    inverted = true;
    at = 1;
  }
  if (isWord(tokens[at], 'in_segment')) {
    const segment = tokens[at + 1];
    if (segment === undefined || (segment.kind !== 'word' && segment.kind !== 'quoted'))
      return problem(`expected a segment name after "in_segment", got ${describe(segment)}`);
    expectEnd(tokens, at + 2, `in_segment ${segment.text}`);
    return { operator: 'in_segment', segment: segment.text, inverted };
  }
  const attribute = tokens[0] as Token;
  if (attribute.kind !== 'word' && attribute.kind !== 'quoted')
    return problem(`expected an attribute name, got ${describe(attribute)}`);
  at = 1;
  if (isWord(tokens[at], 'not')) {
    inverted = true;
    at += 1;
  }
  const operatorToken = tokens[at];
  if (operatorToken?.kind !== 'word')
    return problem(
      `expected an operator after ${JSON.stringify(attribute.text)}, got ${describe(operatorToken)}; known operators: ${RULE_OPERATORS.join(', ')}`,
    );
  const operator = operatorToken.text;
  if (!RULE_OPERATORS.includes(operator)) {
    const guess = closestKey(operator, RULE_OPERATORS);
    return problem(
      `unknown operator ${JSON.stringify(operator)} at column ${operatorToken.column}${guess ? ` (did you mean ${guess}?)` : ''}; known operators: ${RULE_OPERATORS.join(', ')}`,
    );
  }
  if (operator === 'in_segment')
    return problem(`"in_segment" takes a segment name and no attribute: write "in_segment ${attribute.text}"`);
  const valueTokens = tokens.slice(at + 1);
  const where = `${attribute.text} ${operator}`;
  if (valueTokens.length === 0) return problem(`expected a value after "${where}"`);
  if ((SET_OPERATORS as readonly string[]).includes(operator)) {
    return {
      operator: operator as (typeof SET_OPERATORS)[number],
      attribute: attribute.text,
      values: parseList(valueTokens, where),
      inverted,
    };
  }
  const value = valueTokens[0] as Token;
  if (value.kind !== 'word' && value.kind !== 'quoted')
    return problem(`expected a value after "${where}", got ${describe(value)}`);
  expectEnd(valueTokens, 1, `${where} ${value.text}`);
  if ((NUMBER_OPERATORS as readonly string[]).includes(operator)) {
    const number = value.kind === 'word' && value.text.trim() !== '' ? Number(value.text) : Number.NaN;
    if (!Number.isFinite(number))
      return problem(
        `"${operator}" compares numbers: expected a number after "${attribute.text} ${operator}", got ${JSON.stringify(value.text)}`,
      );
    return {
      operator: operator as (typeof NUMBER_OPERATORS)[number],
      attribute: attribute.text,
      value: number,
      inverted,
    };
  }
  if ((SEMVER_OPERATORS as readonly string[]).includes(operator) && parseSemver(value.text) === null) {
    return problem(
      `"${operator}" compares semantic versions: expected a version such as 2.0.0 or 2.0.0-rc.1, got ${JSON.stringify(value.text)}`,
    );
  }
  return {
    operator: operator as (typeof STRING_OPERATORS)[number] | (typeof SEMVER_OPERATORS)[number],
    attribute: attribute.text,
    value: value.text,
    inverted,
  };
}

function expectEnd(tokens: Token[], at: number, after: string): void {
  if (at < tokens.length) {
    problem(
      `unexpected ${describe(tokens[at])} after "${after}": join conditions with "and", and quote a value with spaces ("New York")`,
    );
  }
}

/** `SE,NO` or `SE, NO` or `"New York", Oslo`: values between commas. */
function parseList(tokens: Token[], where: string): string[] {
  const values: string[] = [];
  let expectValue = true;
  for (const token of tokens) {
    if (expectValue) {
      if (token.kind !== 'word' && token.kind !== 'quoted')
        problem(`expected a value in the list after "${where}", got ${describe(token)}`);
      values.push((token as { text: string }).text);
      expectValue = false;
    } else {
      if (token.kind !== 'comma')
        problem(
          `expected "," between the values after "${where}", got ${describe(token)}; quote a value with spaces ("New York")`,
        );
      expectValue = true;
    }
  }
  if (expectValue) problem(`expected a value after the last "," in the list after "${where}"`);
  return values;
}

function parseTarget(tokens: Token[], arrow: Token): { variant: string } | { rollout: Rollout } {
  const first = tokens[0];
  if (first === undefined) return problem(`expected a variant after "->" at column ${arrow.column}`);
  if (first.kind !== 'word' && first.kind !== 'quoted')
    return problem(`expected a variant after "->", got ${describe(first)}`);
  if (first.kind === 'quoted' || !first.text.endsWith('%')) {
    expectTargetEnd(tokens, 1);
    return { variant: first.text };
  }
  const percentage = parsePercentage(first.text.slice(0, -1));
  if (percentage === null)
    return problem(`expected a percentage from 0 to 100 (steps of 0.01) after "->", got ${JSON.stringify(first.text)}`);
  const variant = tokens[1];
  if (variant === undefined || (variant.kind !== 'word' && variant.kind !== 'quoted'))
    return problem(`expected a variant after "${first.text}", got ${describe(variant)}`);
  let stickiness = DEFAULT_STICKINESS;
  let end = 2;
  if (isWord(tokens[2], 'by')) {
    const attribute = tokens[3];
    if (attribute === undefined || (attribute.kind !== 'word' && attribute.kind !== 'quoted'))
      return problem(`expected an attribute after "by", got ${describe(attribute)}`);
    stickiness = attribute.text;
    end = 4;
  }
  expectTargetEnd(tokens, end);
  return { rollout: { percentage, stickiness, variant: variant.text } };
}

function expectTargetEnd(tokens: Token[], at: number): void {
  if (at < tokens.length)
    problem(
      `unexpected ${describe(tokens[at])} after the target: write "-> VARIANT" or "-> PERCENT% VARIANT [by ATTRIBUTE]"`,
    );
}

/** 0 to 100 in steps of 0.01 (the bucket resolution), or null. */
export function parsePercentage(text: string): number | null {
  if (!/^\d+(?:\.\d+)?$/.test(text.trim())) return null;
  const value = Number(text);
  return isRolloutPercentage(value) ? value : null;
}

/** A rule in shorthand, for `cutover flags get`; parseRuleShorthand reads it back (a weighted split excepted). */
export function formatRule(rule: Rule): string {
  const name =
    rule.name === undefined
      ? ''
      : `${/^[^\s,"]+$/.test(rule.name) && !rule.name.includes('->') ? rule.name : JSON.stringify(rule.name)}: `;
  const conditions = rule.constraints.length === 0 ? 'always' : rule.constraints.map(formatConstraint).join(' and ');
  const target = rule.rollout === undefined ? quoteIfNeeded(rule.variant) : formatRollout(rule.rollout);
  return `${name}${conditions} -> ${target}`;
}

export function formatConstraint(constraint: Constraint): string {
  const not = constraint.inverted ? 'not ' : '';
  if (constraint.operator === 'in_segment') return `${not}in_segment ${quoteIfNeeded(constraint.segment)}`;
  const value =
    'values' in constraint ? constraint.values.map(quoteIfNeeded).join(',') : quoteIfNeeded(String(constraint.value));
  return `${quoteIfNeeded(constraint.attribute)} ${not}${constraint.operator} ${value}`;
}

/** `10% on by userId`, or `10% split a:1,b:3 by userId` for a weighted split. */
export function formatRollout(rollout: Rollout): string {
  const variant =
    rollout.variant !== undefined
      ? quoteIfNeeded(rollout.variant)
      : `split ${rollout.variants.map((entry) => `${entry.variant}:${entry.weight}`).join(',')}`;
  return `${rollout.percentage}% ${variant}${rollout.stickiness === DEFAULT_STICKINESS ? '' : ` by ${quoteIfNeeded(rollout.stickiness)}`}`;
}

const KEYWORDS = new Set(['and', 'not', 'by', 'always']);

function quoteIfNeeded(text: string): string {
  return text === '' ||
    /[\s,"]|->/.test(text) ||
    KEYWORDS.has(text.toLowerCase()) ||
    text.endsWith(':') ||
    text.endsWith('%') ||
    text.startsWith('{')
    ? JSON.stringify(text)
    : text;
}
