/**
 * Functions PostgreSQL marks VOLATILE that show up in column defaults. Since
 * PostgreSQL 11, `ADD COLUMN ... DEFAULT <expr>` stores a non-volatile
 * default once in the catalogue and rewrites nothing; a volatile one must be
 * evaluated for every existing row, so the whole table is rewritten under an
 * ACCESS EXCLUSIVE lock. now(), CURRENT_TIMESTAMP, statement_timestamp() and
 * constants are stable or immutable and therefore fine.
 *
 * A function not listed here (one of your own, say) is not flagged: the
 * linter does not see its declaration. PostgreSQL's default for
 * CREATE FUNCTION is VOLATILE, so check yours.
 */
const VOLATILE_FUNCTIONS = new Set([
  'random',
  'random_normal',
  'setseed',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'nextval',
  'currval',
  'lastval',
  'setval',
  'txid_current',
  'pg_current_xact_id',
]);

export function isVolatileFunction(name: string): boolean {
  return VOLATILE_FUNCTIONS.has(name.toLowerCase());
}
