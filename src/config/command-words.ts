/**
 * A service's `command` is run without a shell: it is split into words here,
 * cutover's placeholders are substituted inside single words, and the first
 * word is executed with the rest as its arguments. A value (a version, a port)
 * can then never become shell syntax, whatever it holds.
 *
 * The grammar is the part of POSIX shell words people write in a command line:
 * blanks separate words, single quotes keep everything literal, double quotes
 * keep everything literal but `\"` `\\` `\$` and `` \` ``, a backslash outside
 * quotes escapes the next character. Anything that only a shell would give a
 * meaning to (`;` `&` `|` `(` `)` `<` `>`, `$VAR`, `$(...)`, backticks, a
 * `NAME=value` prefix, globs, `~`, `#` comments, a newline) is refused rather
 * than passed on literally, so a command never silently means something else
 * than it did under /bin/sh: the message says to write `shell: true`.
 */
export type CommandWords = { ok: true; words: string[] } | { ok: false; reason: string };

/** The placeholders cutover substitutes (`${HOST}` too: the runtime knows it). */
export const COMMAND_PLACEHOLDER = /^\$\{(VERSION|PORT|SLOT|INSTANCE|HOST)\}/;
const OPERATORS = new Set([';', '&', '|', '(', ')', '<', '>']);
const GLOB = new Set(['*', '?', '[']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const WITH_A_SHELL =
  "write `shell: true` to run the command through /bin/sh (cutover's values then reach it as $VERSION, $PORT, ... in its environment), or quote it";

export function splitCommandWords(command: string): CommandWords {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  const refuse = (what: string): CommandWords => ({
    ok: false,
    reason: `${what} is shell syntax, and commands run without a shell: ${WITH_A_SHELL}`,
  });

  for (let i = 0; i < command.length; i++) {
    const char = command[i] as string;
    if (quote === "'") {
      if (char === "'") quote = null;
      else current += char;
      continue;
    }
    if (char === '\\') {
      const next = command[i + 1];
      if (next === undefined || next === '\n') return refuse('a backslash at the end of a line');
      // Inside double quotes a backslash only escapes what the shell would expand or end the quote with.
      if (quote === '"' && !'"\\$`'.includes(next)) current += char;
      current += next;
      inWord = true;
      i++;
      continue;
    }
    if (char === '$') {
      const placeholder = COMMAND_PLACEHOLDER.exec(command.slice(i));
      if (!placeholder) return refuse(`"${command.slice(i, i + 2)}" (a shell variable or substitution)`);
      current += placeholder[0];
      inWord = true;
      i += placeholder[0].length - 1;
      continue;
    }
    if (char === '`') return refuse('a backtick (command substitution)');
    if (quote === '"') {
      if (char === '"') quote = null;
      else current += char;
      continue;
    }
    if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === ' ' || char === '\t') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else if (char === '\n' || char === '\r') {
      return refuse('a line break (it starts a second command)');
    } else if (OPERATORS.has(char)) {
      return refuse(`an unquoted "${char}"`);
    } else if (GLOB.has(char)) {
      return refuse(`an unquoted "${char}" (a file name pattern)`);
    } else if (!inWord && (char === '~' || char === '#')) {
      return refuse(`"${char}" at the start of a word`);
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote !== null) return { ok: false, reason: `a ${quote === '"' ? 'double' : 'single'} quote is not closed` };
  if (inWord) words.push(current);
  if (words.length === 0) return { ok: false, reason: 'expected a program to run, like node server.js' };
  if (ASSIGNMENT.test(words[0] as string)) {
    return {
      ok: false,
      reason: `"${words[0] as string}" sets a variable the shell's way: put it under env:, or ${WITH_A_SHELL}`,
    };
  }
  return { ok: true, words };
}

/**
 * A command written as a YAML list, turned into the one string form every
 * other part of cutover reads (status, doctor, Docker): each word single-quoted
 * when it needs to be, so that splitCommandWords gives back exactly the list.
 */
export function joinCommandWords(words: readonly string[]): string {
  return words
    .map((word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`))
    .join(' ');
}
