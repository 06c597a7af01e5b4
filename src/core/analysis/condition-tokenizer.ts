/**
 * Splits a success/failure condition into tokens for condition-parser.ts.
 * Columns are 1-based, so a parse error can point at the character a user
 * has to fix in their cutover.yaml.
 */
export type TokenKind = 'number' | 'string' | 'name' | 'operator' | 'end';

export interface Token {
  kind: TokenKind;
  /** The source text of the token (for `string`, with its quotes). */
  text: string;
  /** The number or the unescaped string; undefined for other kinds. */
  value?: number | string;
  column: number;
}

/** Thrown by the tokenizer and the parser; condition.ts turns it into a CutoverError. */
export class ConditionSyntaxError extends Error {
  constructor(
    readonly column: number,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`expected ${expected} at column ${column}, found ${found}`);
  }
}

// Longest first, so `<=` is not read as `<` then `=`.
const OPERATORS = [
  '||',
  '&&',
  '==',
  '!=',
  '<=',
  '>=',
  '!',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '(',
  ')',
  '[',
  ']',
  '.',
  ',',
];

/** Single characters that are the start of an operator a user likely meant. */
const MISTYPED: Record<string, string> = { '=': "'==' (comparison)", '&': "'&&'", '|': "'||'" };

const NUMBER = /^(?:\d+(?:\.\d+)?)(?:[eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t' };

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i]!;
    const column = i + 1;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      i++;
      continue;
    }
    const rest = source.slice(i);
    const number = NUMBER.exec(rest);
    if (number) {
      if (NAME.test(rest.slice(number[0].length))) {
        throw new ConditionSyntaxError(
          column + number[0].length,
          'an operator after the number',
          describeChar(rest[number[0].length]!),
        );
      }
      tokens.push({ kind: 'number', text: number[0], value: Number(number[0]), column });
      i += number[0].length;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      tokens.push({ kind: 'name', text: name[0], column });
      i += name[0].length;
      continue;
    }
    if (char === '"' || char === "'") {
      const { text, value } = readString(source, i);
      tokens.push({ kind: 'string', text, value, column });
      i += text.length;
      continue;
    }
    const operator = OPERATORS.find((op) => source.startsWith(op, i));
    if (operator) {
      tokens.push({ kind: 'operator', text: operator, column });
      i += operator.length;
      continue;
    }
    throw new ConditionSyntaxError(column, MISTYPED[char] ?? 'an operand or an operator', describeChar(char));
  }
  tokens.push({ kind: 'end', text: '', column: source.length + 1 });
  return tokens;
}

function readString(source: string, start: number): { text: string; value: string } {
  const quote = source[start]!;
  let value = '';
  let i = start + 1;
  while (i < source.length) {
    const char = source[i]!;
    if (char === quote) return { text: source.slice(start, i + 1), value };
    if (char === '\\') {
      const escaped = ESCAPES[source[i + 1] ?? ''];
      if (escaped === undefined) {
        throw new ConditionSyntaxError(
          i + 1,
          'an escape \\\\ \\" \\\' \\n or \\t',
          describeChar(source.slice(i, i + 2)),
        );
      }
      value += escaped;
      i += 2;
      continue;
    }
    value += char;
    i++;
  }
  throw new ConditionSyntaxError(
    start + 1,
    `a closing ${quote} for the string starting here`,
    'the end of the condition',
  );
}

function describeChar(text: string): string {
  return JSON.stringify(text);
}
