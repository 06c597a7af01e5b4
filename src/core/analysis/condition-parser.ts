import { ConditionSyntaxError, tokenize, type Token } from './condition-tokenizer.js';

/**
 * The grammar of success/failure conditions, parsed by precedence climbing
 * into a plain-data AST (no closures, nothing evaluated), lowest binding first:
 *
 *   or         := and ('||' and)*
 *   and        := equality ('&&' equality)*
 *   equality   := comparison (('==' | '!=') comparison)?
 *   comparison := additive (('<' | '<=' | '>' | '>=') additive)?
 *   additive   := term (('+' | '-') term)*
 *   term       := unary (('*' | '/' | '%') unary)*
 *   unary      := ('!' | '-') unary | postfix
 *   postfix    := primary ('.' name | '[' or ']')*
 *   primary    := number | string | true | false | null | result
 *               | function '(' arguments ')' | '(' or ')'
 *
 * Comparisons and equalities do not chain (`1 < x < 3` is refused rather than
 * compared as `(1 < x) < 3`). The only variable is `result` and the only
 * functions are those in FUNCTIONS, so no name can reach a JavaScript global.
 */
export type BinaryOperator = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';
export type FunctionName = 'len' | 'isNaN' | 'abs' | 'default';

export type ConditionNode =
  | { type: 'literal'; value: number | string | boolean | null; column: number }
  | { type: 'result'; column: number }
  | { type: 'member'; object: ConditionNode; name: string; column: number }
  | { type: 'index'; object: ConditionNode; index: ConditionNode; column: number }
  | { type: 'call'; name: FunctionName; args: ConditionNode[]; column: number }
  | { type: 'unary'; operator: '!' | '-'; operand: ConditionNode; column: number }
  | { type: 'binary'; operator: BinaryOperator; left: ConditionNode; right: ConditionNode; column: number };

/** Each function and how many arguments it takes. */
export const FUNCTIONS: Readonly<Record<FunctionName, number>> = { len: 1, isNaN: 1, abs: 1, default: 2 };

const LEVELS: readonly (readonly BinaryOperator[])[] = [
  ['||'],
  ['&&'],
  ['==', '!='],
  ['<', '<=', '>', '>='],
  ['+', '-'],
  ['*', '/', '%'],
];
const NON_ASSOCIATIVE = new Set([2, 3]);
const MAX_DEPTH = 64;
const OPERAND = "an operand (a number, a string, true, false, null, result, a function such as len(...), or '(')";

export function parseConditionSyntax(source: string): ConditionNode {
  const parser = new Parser(tokenize(source));
  const node = parser.parseLevel(0);
  parser.expectEnd();
  return node;
}

class Parser {
  private position = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parseLevel(level: number): ConditionNode {
    if (level === LEVELS.length) return this.parseUnary();
    const operators = LEVELS[level]!;
    let left = this.parseLevel(level + 1);
    while (this.peekOperator(operators)) {
      const token = this.next();
      const right = this.parseLevel(level + 1);
      left = { type: 'binary', operator: token.text as BinaryOperator, left, right, column: token.column };
      if (NON_ASSOCIATIVE.has(level) && this.peekOperator(operators)) {
        const chained = this.peek();
        throw new ConditionSyntaxError(
          chained.column,
          `the end of the comparison (write \`a ${token.text} b && b ${chained.text} c\` instead of chaining)`,
          `'${chained.text}'`,
        );
      }
    }
    return left;
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.kind !== 'end')
      throw new ConditionSyntaxError(token.column, 'an operator or the end of the condition', describe(token));
  }

  private parseUnary(): ConditionNode {
    const token = this.peek();
    if (token.kind === 'operator' && (token.text === '!' || token.text === '-')) {
      this.next();
      const operand = this.nested(() => this.parseUnary(), token);
      return { type: 'unary', operator: token.text, operand, column: token.column };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(node: ConditionNode): ConditionNode {
    let result = node;
    for (;;) {
      const token = this.peek();
      if (this.isOperator(token, '.')) {
        this.next();
        const name = this.next();
        if (name.kind !== 'name') throw new ConditionSyntaxError(name.column, "a field name after '.'", describe(name));
        result = { type: 'member', object: result, name: name.text, column: token.column };
      } else if (this.isOperator(token, '[')) {
        this.next();
        const index = this.nested(() => this.parseLevel(0), token);
        this.expectOperator(']', `']' to close the '[' at column ${token.column}`);
        result = { type: 'index', object: result, index, column: token.column };
      } else {
        return result;
      }
    }
  }

  private parsePrimary(): ConditionNode {
    const token = this.next();
    const column = token.column;
    if (token.kind === 'number' || token.kind === 'string') return { type: 'literal', value: token.value!, column };
    if (this.isOperator(token, '(')) {
      const inner = this.nested(() => this.parseLevel(0), token);
      this.expectOperator(')', `')' to close the '(' at column ${column}`);
      return inner;
    }
    if (token.kind !== 'name') throw new ConditionSyntaxError(column, OPERAND, describe(token));
    switch (token.text) {
      case 'true':
        return { type: 'literal', value: true, column };
      case 'false':
        return { type: 'literal', value: false, column };
      case 'null':
        return { type: 'literal', value: null, column };
      case 'result':
        return { type: 'result', column };
    }
    if (Object.hasOwn(FUNCTIONS, token.text)) return this.parseCall(token);
    const open = this.peek();
    const what = this.isOperator(open, '(')
      ? `a function (${Object.keys(FUNCTIONS).join(', ')})`
      : `${OPERAND}; the only variable is \`result\``;
    throw new ConditionSyntaxError(column, what, describe(token));
  }

  private parseCall(token: Token): ConditionNode {
    const name = token.text as FunctionName;
    const arity = FUNCTIONS[name];
    this.expectOperator('(', `'(' after ${name}`);
    const args: ConditionNode[] = [];
    const takes = `${arity} argument${arity > 1 ? 's' : ''}`;
    if (!this.isOperator(this.peek(), ')')) {
      args.push(this.nested(() => this.parseLevel(0), token));
      while (this.isOperator(this.peek(), ',')) {
        const comma = this.next();
        if (args.length === arity)
          throw new ConditionSyntaxError(comma.column, `')' to close ${name}( (it takes ${takes})`, describe(comma));
        args.push(this.nested(() => this.parseLevel(0), token));
      }
    }
    const close = this.peek();
    if (args.length < arity) throw new ConditionSyntaxError(close.column, `${takes} for ${name}()`, describe(close));
    if (!this.isOperator(close, ')'))
      throw new ConditionSyntaxError(close.column, `')' to close ${name}(`, describe(close));
    this.next();
    return { type: 'call', name, args, column: token.column };
  }

  /** Guards the recursion: a condition is a line of config, not a program. */
  private nested<T>(parse: () => T, token: Token): T {
    if (++this.depth > MAX_DEPTH) {
      throw new ConditionSyntaxError(token.column, `at most ${MAX_DEPTH} levels of nesting`, 'deeper nesting');
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private expectOperator(text: string, expected: string): void {
    const token = this.next();
    if (!this.isOperator(token, text)) throw new ConditionSyntaxError(token.column, expected, describe(token));
  }

  private peekOperator(operators: readonly string[]): boolean {
    const token = this.peek();
    return token.kind === 'operator' && operators.includes(token.text);
  }

  private isOperator(token: Token, text: string): boolean {
    return token.kind === 'operator' && token.text === text;
  }

  private peek(): Token {
    return this.tokens[this.position]!;
  }

  private next(): Token {
    const token = this.tokens[this.position]!;
    // The end token stays put, so reading past it keeps answering `end`.
    if (token.kind !== 'end') this.position++;
    return token;
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the condition';
    case 'number':
      return `the number ${token.text}`;
    case 'string':
      return `the string ${token.text}`;
    case 'name':
      return `\`${token.text}\``;
    case 'operator':
      return `'${token.text}'`;
  }
}
