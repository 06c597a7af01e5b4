/**
 * Splits a service command into the words of a container's Cmd (exec form: no
 * shell runs it, so an image without /bin/sh works and signals reach the app).
 * Single and double quotes group words and backslash escapes a character, as
 * in a shell; nothing else is interpreted. A command that needs a shell says
 * so: `sh -c "node server.js | tee out"`.
 */
export function commandWords(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i++) {
    const char = command[i] as string;
    if (quote) {
      if (char === quote) quote = null;
      else if (char === '\\' && quote === '"' && i + 1 < command.length) current += command[++i] as string;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < command.length) {
      current += command[++i] as string;
      inWord = true;
    } else if (char === ' ' || char === '\t' || char === '\n') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}
