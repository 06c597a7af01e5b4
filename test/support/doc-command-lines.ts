/**
 * The command lines of a ```sh block of the docs, as a reader would type them. The docs write a usage
 * notation besides plain commands: `# comments`, `\` continuations, `;` and `&&` between commands, optional
 * parts in brackets (`[--to web-3|3|v1]`, `[--rule "..." ...]`) and alternatives with `|`
 * (`promote|pause|resume shop`). Each notation is expanded into every command it stands for: without the
 * optional parts, with all of them, and once per alternative, so each word the docs show reaches the CLI.
 */
export interface DocCommand {
  /** The line of the block where the command starts, counted in the block's text (0-based). */
  lineInBlock: number;
  /** As written in the doc (comment removed), for messages. */
  written: string;
  /** The commands it stands for, as argv words (quotes removed). */
  variants: string[][];
}

interface Word {
  text: string;
  /** Quoted words are literal: no brackets, alternatives or `...` in them. */
  quoted: boolean;
}

export function docCommands(blockText: string): DocCommand[] {
  const commands: DocCommand[] = [];
  const lines = blockText.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i]!;
    while (/\\\s*$/.test(stripComment(text)) && i + 1 < lines.length) {
      text = `${stripComment(text).replace(/\\\s*$/, ' ')}${lines[++i]!}`;
    }
    const command = stripComment(text).trim();
    if (command === '') continue;
    for (const part of splitCommands(command)) {
      commands.push({ lineInBlock: start, written: part, variants: expand(words(part)) });
    }
  }
  return commands;
}

/** The text before a `#` that starts a word outside quotes. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

/** `a ; b` and `a && b` are two commands. */
function splitCommands(line: string): string[] {
  const parts: string[] = [];
  let quote: string | null = null;
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ';' || (c === '&' && line[i + 1] === '&')) {
      parts.push(current.trim());
      current = '';
      if (c === '&') i++;
      continue;
    }
    current += c;
  }
  parts.push(current.trim());
  return parts.filter((part) => part !== '');
}

function words(command: string): Word[] {
  const result: Word[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of command.matchAll(pattern)) {
    if (match[3] !== undefined) result.push({ text: match[3], quoted: false });
    else result.push({ text: match[1] ?? match[2] ?? '', quoted: true });
  }
  return result;
}

/** Without the optional parts, and with all of them; then once per alternative of each `a|b` word. */
function expand(all: Word[]): string[][] {
  const bare: Word[] = [];
  const full: Word[] = [];
  let depth = 0;
  for (const word of all) {
    if (word.quoted) {
      if (depth === 0) bare.push(word);
      full.push(word);
      continue;
    }
    let text = word.text;
    const opens = /^\[+/.exec(text)?.[0].length ?? 0;
    text = text.slice(opens);
    depth += opens;
    const closes = /\]+$/.exec(text)?.[0].length ?? 0;
    text = text.slice(0, text.length - closes);
    if (text !== '' && text !== '...') {
      const kept = { text, quoted: false };
      if (depth === 0) bare.push(kept);
      full.push(kept);
    }
    depth -= closes;
    if (depth < 0) throw new Error(`unbalanced ] in: ${all.map((w) => w.text).join(' ')}`);
  }
  if (depth !== 0) throw new Error(`unbalanced [ in: ${all.map((w) => w.text).join(' ')}`);
  const variants = [bare, full].flatMap(alternatives).map((variant) => variant.join('\u0000'));
  return [...new Set(variants)].map((joined) => joined.split('\u0000'));
}

function alternatives(words: Word[]): string[][] {
  let results: string[][] = [[]];
  for (const word of words) {
    const choices = !word.quoted && word.text.includes('|') ? word.text.split('|') : [word.text];
    results = results.flatMap((prefix) => choices.map((choice) => [...prefix, choice]));
  }
  return results;
}
