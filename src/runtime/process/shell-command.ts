/**
 * Turns a service command into the script given to `/bin/sh -c`. A simple
 * command gets `exec` in front so the shell is replaced by the app: the pid we
 * record is the app itself, its exit status and signal reach us unchanged,
 * and a missing binary exits 127 ("not found"). `FOO=1 node app` becomes
 * `FOO=1 exec node app` (POSIX passes the assignments to the exec'd program).
 *
 * A compound command (`cd x && node app`, a pipeline, `node a & wait`) is left
 * as it is: `exec` in front would change its meaning. The shell then stays as
 * the parent, which is still safe because instances are stopped by process
 * group, not by pid.
 */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const RESERVED_WORDS = new Set(['if', 'case', 'while', 'until', 'for', '{', '!', 'exec', 'function']);
const CONTROL_OPERATORS = new Set([';', '&', '|', '(', ')', '\n']);

interface Word {
  text: string;
  end: number;
}

export function shellScriptFor(command: string): string {
  const trimmed = command.trim();
  const scan = scanWords(trimmed);
  if (scan.compound) return trimmed;
  const firstCommandWord = scan.words.findIndex((word) => !ASSIGNMENT.test(word.text));
  const first = scan.words[firstCommandWord];
  if (first === undefined || RESERVED_WORDS.has(first.text)) return trimmed;
  if (firstCommandWord === 0) return `exec ${trimmed}`;
  const split = scan.words[firstCommandWord - 1]?.end ?? 0;
  return `${trimmed.slice(0, split)} exec${trimmed.slice(split)}`;
}

/**
 * Splits on unquoted blanks and notes any unquoted control operator. Enough
 * shell grammar to tell a simple command from a compound one, no more.
 */
function scanWords(command: string): { words: Word[]; compound: boolean } {
  const words: Word[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let substitutionDepth = 0;
  const endWord = (at: number): void => {
    if (current) words.push({ text: current, end: at });
    current = '';
  };
  for (let i = 0; i < command.length; i++) {
    const char = command[i] as string;
    if (quote === "'") {
      if (char === "'") quote = null;
    } else if (char === '\\' && i + 1 < command.length) {
      current += char;
      i++;
      current += command[i] as string;
      continue;
    } else if (quote === '"') {
      if (char === '"') quote = null;
    } else if (char === '$' && command[i + 1] === '(') {
      // A command substitution is an argument, not a control operator.
      substitutionDepth++;
      current += '$(';
      i++;
      continue;
    } else if (substitutionDepth > 0) {
      if (char === '(') substitutionDepth++;
      else if (char === ')') substitutionDepth--;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (CONTROL_OPERATORS.has(char)) {
      return { words, compound: true };
    } else if (char === ' ' || char === '\t') {
      endWord(i);
      continue;
    }
    current += char;
  }
  endWord(command.length);
  return { words, compound: false };
}
