/** As CREATE FUNCTION declares it; VOLATILE when it says nothing. */
export type FunctionVolatility = 'immutable' | 'stable' | 'volatile';

/**
 * Whether a function in a column default forces a rewrite. Since
 * PostgreSQL 11, `ADD COLUMN ... DEFAULT <expr>` stores a non-volatile
 * default once in the catalogue and rewrites nothing; a volatile one must be
 * evaluated for every existing row, so the whole table is rewritten under an
 * ACCESS EXCLUSIVE lock.
 *
 * PostgreSQL's default for CREATE FUNCTION is VOLATILE, so a function is
 * taken as volatile unless it is a built-in known to be immutable or stable
 * (below) or the migration file itself declares it IMMUTABLE or STABLE. A
 * function created by an earlier migration is unknown here; the finding's
 * message says so, and a disable comment with the reason lets it through.
 */
const KNOWN_VOLATILE = new Set([
  'random',
  'random_normal',
  'setseed',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'gen_random_bytes',
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

/**
 * Built-ins marked IMMUTABLE or STABLE in pg_proc (PostgreSQL 12–17) that
 * show up in defaults: time of the transaction, text, numbers, JSON, arrays,
 * ranges, hashing, casts written as calls. Keywords like CURRENT_TIMESTAMP,
 * CURRENT_DATE and CURRENT_USER are not function calls in the parse tree and
 * need no entry.
 */
const KNOWN_NOT_VOLATILE = new Set([
  // time: fixed for the transaction (stable) or pure (immutable)
  'now',
  'transaction_timestamp',
  'statement_timestamp',
  'date_trunc',
  'date_part',
  'date_bin',
  'extract',
  'make_date',
  'make_time',
  'make_timestamp',
  'make_timestamptz',
  'make_interval',
  'to_timestamp',
  'to_date',
  'to_char',
  'to_number',
  'timezone',
  'age',
  'justify_days',
  'justify_hours',
  'justify_interval',
  'isfinite',
  // text
  'lower',
  'upper',
  'initcap',
  'btrim',
  'ltrim',
  'rtrim',
  'trim',
  'length',
  'char_length',
  'character_length',
  'octet_length',
  'substr',
  'substring',
  'left',
  'right',
  'lpad',
  'rpad',
  'repeat',
  'replace',
  'reverse',
  'translate',
  'split_part',
  'concat',
  'concat_ws',
  'format',
  'quote_ident',
  'quote_literal',
  'quote_nullable',
  'regexp_replace',
  'regexp_substr',
  'chr',
  'ascii',
  'md5',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'encode',
  'decode',
  'convert_to',
  'convert_from',
  'string_to_array',
  'array_to_string',
  'to_hex',
  'starts_with',
  'normalize',
  'to_tsvector',
  'to_tsquery',
  'plainto_tsquery',
  'setweight',
  // numbers
  'abs',
  'round',
  'trunc',
  'floor',
  'ceil',
  'ceiling',
  'sqrt',
  'power',
  'pow',
  'mod',
  'div',
  'sign',
  'exp',
  'ln',
  'log',
  'greatest',
  'least',
  'width_bucket',
  // JSON
  'jsonb_build_object',
  'jsonb_build_array',
  'json_build_object',
  'json_build_array',
  'to_jsonb',
  'to_json',
  'jsonb_object',
  'json_object',
  'jsonb_strip_nulls',
  'jsonb_set',
  'array_to_json',
  'row_to_json',
  // arrays and ranges
  'array_fill',
  'array_append',
  'array_prepend',
  'array_cat',
  'array_length',
  'cardinality',
  'int4range',
  'int8range',
  'numrange',
  'tsrange',
  'tstzrange',
  'daterange',
  // casts written as calls, and constructors of built-in types
  'int2',
  'int4',
  'int8',
  'float4',
  'float8',
  'numeric',
  'text',
  'bool',
  'date',
  'interval',
  'timestamp',
  'timestamptz',
  'inet',
  'cidr',
  'point',
  // session and catalogue, fixed within a statement
  'current_setting',
  'current_schema',
  'current_database',
  'version',
  'pg_backend_pid',
  'inet_client_addr',
  'uuid_nil',
  'uuid_ns_dns',
  'uuid_ns_url',
  'uuid_ns_oid',
  'uuid_ns_x500',
  'uuid_generate_v3',
  'uuid_generate_v5',
]);

export interface FunctionJudgement {
  volatile: boolean;
  /** Why, for the finding's message. */
  because: 'known volatile' | 'known not volatile' | 'declared in the file' | 'in the database' | 'unknown';
}

/**
 * `declared` is what a CREATE FUNCTION earlier in the file says about a
 * function of this name; it wins over the built-in lists (the file may shadow
 * a built-in name in its own schema). `inDatabase` is pg_proc.provolatile
 * from a live database (see database-catalog.ts): what PostgreSQL itself will
 * go by, so it wins over the lists; the file still wins, being newer.
 */
export function judgeFunction(
  name: string,
  declared: FunctionVolatility | undefined,
  inDatabase?: FunctionVolatility,
): FunctionJudgement {
  if (declared) return { volatile: declared === 'volatile', because: 'declared in the file' };
  if (inDatabase) return { volatile: inDatabase === 'volatile', because: 'in the database' };
  const lower = name.toLowerCase();
  if (KNOWN_VOLATILE.has(lower)) return { volatile: true, because: 'known volatile' };
  if (KNOWN_NOT_VOLATILE.has(lower)) return { volatile: false, because: 'known not volatile' };
  return { volatile: true, because: 'unknown' };
}

export function isVolatileFunction(name: string): boolean {
  return KNOWN_VOLATILE.has(name.toLowerCase());
}
