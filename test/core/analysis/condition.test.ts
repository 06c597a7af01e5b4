import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  evaluateCondition,
  evaluateExpression,
  parseCondition,
  type ConditionErrorDetails,
} from '../../../src/core/analysis/condition.js';
import { CutoverError } from '../../../src/core/errors.js';

const check = (source: string, result: unknown) => evaluateCondition(parseCondition(source), result);
const value = (source: string, result: unknown = null) => evaluateExpression(parseCondition(source), result);

describe('condition language', () => {
  // [condition, result, expected outcome]
  const TABLE: [string, unknown, boolean][] = [
    ['result < 0.01', 0.005, true],
    ['result < 0.01', 0.01, false],
    ['result <= 0.01', 0.01, true],
    ['result >= 1e3', 1000, true],
    ['result > 2.5e-1', 0.3, true],
    ['result == true', true, true],
    ['result', true, true],
    ['!result', true, false],
    ['result.p95 <= 500 && result.count >= 100', { p95: 420, count: 150 }, true],
    ['result.p95 <= 500 && result.count >= 100', { p95: 420, count: 99 }, false],
    ['result.p95 > 500 || result.count < 100', { p95: 420, count: 99 }, true],
    ['result[0] > 3', [4, 1], true],
    ['result[1] > 3', [4, 1], false],
    ['result.series[1].value == 7', { series: [{ value: 1 }, { value: 7 }] }, true],
    ['result["p99"] < 900', { p99: 850 }, true],
    ['len(result) > 0', [1], true],
    ['len(result) > 0', [], false],
    ['len(result) == 2', { a: 1, b: 2 }, true],
    ['len(result) == 5', 'hello', true],
    ['!(result > 5)', 3, true],
    ['!(result > 5)', 7, false],
    ['result == "ok"', 'ok', true],
    ["result == 'ok'", 'fail', false],
    ['result != "ok"', 'fail', true],
    ['result == "ok"', 1, false],
    ['result == 1', '1', false],
    ['result == null', null, true],
    ['result.error == null', { error: null }, true],
    ['isNaN(result)', Number.NaN, true],
    ['isNaN(result)', 1, false],
    ['isNaN(result)', 'x', false],
    ['result < 1', Number.NaN, false],
    ['default(result, 0) < 1', null, true],
    ['default(result.missing, 0) < 1', {}, true],
    ['default(result.rate, 0) < 1', { rate: 5 }, false],
    ['default(result.errors / result.total, 0) < 0.05', { errors: 3, total: 0 }, true],
    ['default(result, 0) == 0', Number.NaN, true],
    ['abs(result - 10) < 0.5', 10.2, true],
    ['abs(result) == 3', -3, true],
    ['-result > 2', -3, true],
    ['1 + 2 * 3 == 7', null, true],
    ['(1 + 2) * 3 == 9', null, true],
    ['10 - 4 - 3 == 3', null, true],
    ['7 % 4 == 3 && 8 / 4 == 2', null, true],
    ['"a" + "b" == "ab"', null, true],
    ['"abc" < "abd"', null, true],
    ['result.errors / result.total < 0.01', { errors: 1, total: 1000 }, true],
    ['true && !false || false', null, true],
    ['false && result.missing > 1', {}, false],
    ['true || result.missing > 1', {}, true],
    ['  result\t>\n1  ', 2, true],
  ];

  for (const [source, result, expected] of TABLE) {
    it(`${source} with ${JSON.stringify(result) ?? String(result)} is ${expected}`, () => {
      assert.deepEqual(check(source, result), { ok: true, value: expected });
    });
  }

  it('evaluates expressions to values, with && and || binding as usual', () => {
    assert.deepEqual(value('2 + 3 * 4 - 1'), { ok: true, value: 13 });
    assert.deepEqual(value('-2 * -3'), { ok: true, value: 6 });
    assert.deepEqual(value('result.a', { a: [1, 2] }), { ok: true, value: [1, 2] });
    assert.deepEqual(value('false || true && false'), { ok: true, value: false });
    assert.deepEqual(value('"tab\\t\\"q\\""'), { ok: true, value: 'tab\t"q"' });
  });

  // [condition, result, part of the error]
  const ERRORS: [string, unknown, RegExp][] = [
    ['result.p95 < 500', { p50: 1, p99: 2 }, /field 'p95' is missing \(it has p50, p99\) \(at column 7\)/],
    ['result.p95 < 500', 3, /cannot read field 'p95' of number 3/],
    ['result.length > 0', [1], /use len\(\.\.\.\)/],
    ['result[3] > 0', [1, 2], /index 3 is out of range \(the list has 2 elements\)/],
    ['result[0.5] > 0', [1, 2], /whole number/],
    ['result > 1', 'high', /'>' compares two numbers or two strings, got the string "high" and number 1/],
    ['result > 1', undefined, /result has no value/],
    ['result && true', 1, /'&&' needs true or false, got number 1/],
    ['!result', 'yes', /'!' needs true or false/],
    ['result / 0 < 1', 5, /division by zero/],
    ['result % 0 < 1', 5, /division by zero/],
    ['result == 1', [1], /'==' compares numbers, strings, booleans or null, got a list of 1/],
    ['result + 1 > 0', 'a', /'\+' needs numbers/],
    ['len(result) > 0', 5, /len\(\) takes a string, a list or an object, got number 5/],
    ['result', 1, /must be true or false, but it is number 1/],
    ['result.p95', { p95: 'x' }, /must be true or false, but it is the string "x"/],
    ['result.f > 0', { f: () => 1 }, /field 'f' is a function/],
    ['result.when > 0', { when: new Date(0) }, /field 'when' is a object/],
  ];

  for (const [source, result, pattern] of ERRORS) {
    it(`reports an error, never a crash: ${source}`, () => {
      const outcome = check(source, result);
      assert.equal(outcome.ok, false);
      assert.match((outcome as { error: string }).error, pattern);
    });
  }

  it('reaches no JavaScript global, prototype or constructor', () => {
    for (const [source, result] of [
      ['result.constructor == null', {}],
      ['result.__proto__ == null', {}],
      ['result["constructor"] == null', {}],
      ['result["__proto__"] == null', []],
      ['result.toString == null', {}],
      ['result.constructor == null', []],
      ['len(result.constructor) > 0', 'x'],
    ] as const) {
      const outcome = check(source, result);
      assert.equal(outcome.ok, false, `${source} must not read anything`);
    }
    // An own field named like a hazard is plain data.
    assert.deepEqual(check('result.constructor == 1', JSON.parse('{"constructor": 1}')), { ok: true, value: true });
    assert.deepEqual(check('result.__proto__ == 2', JSON.parse('{"__proto__": 2}')), { ok: true, value: true });
    // Names other than `result` do not parse at all.
    for (const source of [
      'process.exit(1)',
      'constructor',
      'globalThis',
      'this',
      'require("fs")',
      'Function("x")()',
      'result.x(1)',
    ]) {
      assert.throws(() => parseCondition(source), CutoverError, source);
    }
  });

  it('reports parse errors with the column and what was expected', () => {
    const cases: [string, number, RegExp, RegExp][] = [
      ['result <', 9, /an operand/, /the end of the condition/],
      ['result < 0.01 &&', 17, /an operand/, /end/],
      ['result = 1', 8, /'==' \(comparison\)/, /"="/],
      ['result & true', 8, /'&&'/, /"&"/],
      ['(result > 1', 12, /'\)' to close the '\(' at column 1/, /end/],
      ['result[0 > 1', 13, /'\]' to close the '\[' at column 7/, /end/],
      ['result.', 8, /a field name after '\.'/, /end/],
      ['result.1', 8, /a field name/, /the number 1/],
      ['process.env', 1, /the only variable is `result`/, /`process`/],
      ['foo(1)', 1, /a function \(len, isNaN, abs, default\)/, /`foo`/],
      ['len(result, 1)', 11, /'\)' to close len\(/, /','/],
      ['default(result)', 15, /2 arguments for default\(\)/, /'\)'/],
      ['len', 4, /'\(' after len/, /end/],
      ['result > 1 result', 12, /an operator or the end/, /`result`/],
      ['1 < result < 3', 12, /instead of chaining/, /'<'/],
      ['result == 1 == true', 13, /instead of chaining/, /'=='/],
      ['"unterminated', 1, /a closing " for the string starting here/, /end/],
      ['"bad \\x escape"', 6, /an escape/, /\\x/],
      ['3abc', 2, /an operator after the number/, /"a"/],
      ['result # 1', 8, /an operand or an operator/, /"#"/],
      ['', 1, /an operand/, /the end of the condition/],
    ];
    for (const [source, column, expected, found] of cases) {
      let error: unknown;
      try {
        parseCondition(source);
      } catch (caught) {
        error = caught;
      }
      assert.ok(error instanceof CutoverError, `${source} must not parse`);
      assert.equal(error.code, 'ANALYSIS_CONDITION_INVALID');
      assert.equal(error.status, 400);
      const details = error.details as ConditionErrorDetails;
      assert.equal(details.column, column, `${source}: ${error.message}`);
      assert.match(details.expected, expected, source);
      assert.match(details.found, found, source);
      assert.match(error.message, new RegExp(`at column ${column}`));
      assert.ok(error.message.startsWith(`invalid condition ${JSON.stringify(source)}: expected`), error.message);
      assert.match(error.hint, /len\(\), isNaN\(\), abs\(\), default/);
    }
  });

  it('refuses absurd nesting at parse time instead of overflowing the stack', () => {
    assert.throws(() => parseCondition(`${'('.repeat(500)}result${')'.repeat(500)} > 1`), /levels of nesting/);
    assert.throws(() => parseCondition(`${'!'.repeat(10_000)}result`), /levels of nesting/);
    assert.deepEqual(check(`${'('.repeat(20)}result${')'.repeat(20)} > 1`, 2), { ok: true, value: true });
  });

  it('parses into plain data that survives JSON (the release history stores the source)', () => {
    const condition = parseCondition('result.p95 <= 500 && len(result.samples) >= 100');
    const copy = JSON.parse(JSON.stringify(condition));
    assert.deepEqual(copy, condition);
    assert.deepEqual(evaluateCondition(copy, { p95: 10, samples: new Array(100).fill(1) }), { ok: true, value: true });
  });
});
