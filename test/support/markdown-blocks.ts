import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './cutover-harness.js';

/** README.md and every docs/*.md, as paths relative to the repository root: the Markdown a reader follows. */
export const DOC_FILES = [
  'README.md',
  ...fs
    .readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => path.join('docs', file)),
];

export interface MarkdownBlock {
  file: string;
  /** The line of the block's first content line (1-based), for messages a reader can jump to. */
  line: number;
  text: string;
  /** What an HTML comment right before the fence says the block needs, e.g. `<!-- needs: server -->` → "server". */
  needs: string | null;
}

/** The fenced blocks of one language (```sh, ```yaml) of a Markdown file of the repository. */
export function markdownBlocks(file: string, language: string): MarkdownBlock[] {
  const lines = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8').split('\n');
  const blocks: MarkdownBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```' + language) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    const before = i > 0 ? /^<!--\s*needs:\s*(.+?)\s*-->$/.exec(lines[i - 1]!.trim()) : null;
    blocks.push({ file, line: start + 1, text: lines.slice(start, end).join('\n'), needs: before?.[1] ?? null });
    i = end;
  }
  return blocks;
}
