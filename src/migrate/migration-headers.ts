/**
 * The header comments of a migration file: the `--` and `/* *\/` comments
 * before its first statement, where `-- cutover:phase contract` and
 * `-- cutover:no-transaction` are read. The runner used to take them from any
 * line of the file, so one after a statement, or inside a function's
 * dollar-quoted body, changed how the file ran, while the linter (which reads
 * comments from PostgreSQL's own scanner) calls such a line "no effect" and
 * judged the file by its folder. Both now agree: only the leading comments
 * count. Pure: no I/O.
 */
export interface MigrationHeaders {
  /** The word after `cutover:phase` (not checked here), if a header names one. */
  phase?: string;
  noTransaction: boolean;
}

export function readMigrationHeaders(sql: string): MigrationHeaders {
  const headers: MigrationHeaders = { noTransaction: false };
  for (const body of leadingCommentBodies(sql)) {
    if (!body.startsWith('cutover:')) continue;
    const [name = '', ...values] = body.slice('cutover:'.length).split(/\s+/);
    // Anything but one word is kept whole, so the runner's error quotes what was written.
    if (name === 'phase') headers.phase = values.join(' ');
    else if (name === 'no-transaction' && values.length === 0) headers.noTransaction = true;
  }
  return headers;
}

/** The trimmed text of each comment before the first token that is not one (block comments nest, as in PostgreSQL). */
export function leadingCommentBodies(sql: string): string[] {
  const bodies: string[] = [];
  let at = sql.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    while (at < sql.length && /\s/.test(sql.charAt(at))) at++;
    if (sql.startsWith('--', at)) {
      const end = sql.indexOf('\n', at);
      const stop = end < 0 ? sql.length : end;
      bodies.push(sql.slice(at + 2, stop).trim());
      at = stop;
    } else if (sql.startsWith('/*', at)) {
      let depth = 1;
      let i = at + 2;
      while (i < sql.length && depth > 0) {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      }
      // An unterminated comment is PostgreSQL's error to report; it holds no header.
      if (depth > 0) return bodies;
      bodies.push(sql.slice(at + 2, i - 2).trim());
      at = i;
    } else return bodies;
  }
}
