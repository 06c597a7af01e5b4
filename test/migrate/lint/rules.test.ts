import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STATEMENT_RULES } from '../../../src/migrate/lint/index.js';
import { findingsOf, hitsOf } from './lint-sql.js';

/**
 * Every rule with a migration it must flag and the safe rewrite of the same
 * change, which must come out clean: not only free of that rule, free of all
 * findings (the rewrite sets lock_timeout, splits transactions, and so on).
 */
interface RuleCase {
  rule: string;
  unsafe: string;
  /** Where the finding is, `line:column`. */
  at: string;
  safe: string;
  file?: string;
  safeFile?: string;
}

// Both timeouts on one line, so the statement under test stays on line 2.
const TIMEOUT = "SET lock_timeout = '5s'; SET statement_timeout = '10min';\n";

const CASES: RuleCase[] = [
  {
    rule: 'add-column-volatile-default',
    unsafe: `${TIMEOUT}ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();`,
    at: '2:1',
    safe: `${TIMEOUT}ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();`,
  },
  {
    rule: 'add-column-not-null-no-default',
    unsafe: `${TIMEOUT}ALTER TABLE users ADD COLUMN age integer NOT NULL;`,
    at: '2:1',
    safe: `${TIMEOUT}ALTER TABLE users ADD COLUMN age integer NOT NULL DEFAULT 0;`,
  },
  {
    rule: 'change-column-type',
    unsafe: `${TIMEOUT}ALTER TABLE users ALTER COLUMN id TYPE bigint;`,
    at: '2:1',
    safe: `${TIMEOUT}ALTER TABLE users ADD COLUMN id_new bigint;`,
  },
  {
    rule: 'rename-column',
    unsafe: `${TIMEOUT}ALTER TABLE users RENAME COLUMN name TO full_name;`,
    at: '2:1',
    safe: `${TIMEOUT}ALTER TABLE users ADD COLUMN full_name text;`,
  },
  {
    rule: 'rename-table',
    unsafe: `${TIMEOUT}ALTER TABLE users RENAME TO people;`,
    at: '2:1',
    safe: `${TIMEOUT}ALTER TABLE users RENAME TO people;\nCREATE VIEW users AS SELECT * FROM people;`,
  },
  {
    rule: 'drop-column',
    unsafe: `${TIMEOUT}ALTER TABLE users DROP COLUMN legacy;`,
    at: '2:1',
    safe: `-- cutover:phase contract\n${TIMEOUT}ALTER TABLE users DROP COLUMN legacy;`,
  },
  {
    rule: 'drop-table',
    unsafe: `${TIMEOUT}DROP TABLE sessions_old;`,
    at: '2:1',
    file: 'db/expand/007_drop.sql',
    safe: `${TIMEOUT}DROP TABLE sessions_old;`,
    safeFile: 'db/contract/007_drop.sql',
  },
  {
    rule: 'create-index-not-concurrently',
    unsafe: `${TIMEOUT}CREATE INDEX users_email_idx ON users (email);`,
    at: '2:1',
    safe: `CREATE INDEX CONCURRENTLY users_email_idx ON users (email);`,
  },
  {
    rule: 'drop-index-not-concurrently',
    unsafe: `${TIMEOUT}DROP INDEX users_email_idx;`,
    at: '2:1',
    safe: `DROP INDEX CONCURRENTLY users_email_idx;`,
  },
  {
    rule: 'add-foreign-key-not-valid',
    unsafe: `${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_user_fkey FOREIGN KEY (user_id) REFERENCES users (id);`,
    at: '2:1',
    safe: `-- cutover:no-transaction\n${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fkey;`,
  },
  {
    rule: 'add-check-not-valid',
    unsafe: `${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);`,
    at: '2:1',
    safe: `-- cutover:no-transaction\n${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_amount_positive;`,
  },
  {
    rule: 'set-not-null',
    unsafe: `${TIMEOUT}ALTER TABLE orders ALTER COLUMN note SET NOT NULL;`,
    at: '2:1',
    safe: [
      '-- cutover:no-transaction',
      TIMEOUT + 'ALTER TABLE orders ADD CONSTRAINT orders_note_not_null CHECK (note IS NOT NULL) NOT VALID;',
      'ALTER TABLE orders VALIDATE CONSTRAINT orders_note_not_null;',
      'ALTER TABLE orders ALTER COLUMN note SET NOT NULL;',
      'ALTER TABLE orders DROP CONSTRAINT orders_note_not_null;',
    ].join('\n'),
  },
  {
    rule: 'add-unique-constraint',
    unsafe: `${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE (code);`,
    at: '2:1',
    safe: `${TIMEOUT}CREATE UNIQUE INDEX CONCURRENTLY orders_code_key ON orders (code);\nALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE USING INDEX orders_code_key;`,
  },
  {
    rule: 'vacuum-full',
    unsafe: `${TIMEOUT}VACUUM FULL orders;`,
    at: '2:1',
    safe: `VACUUM (ANALYZE) orders;`,
  },
  {
    rule: 'cluster',
    unsafe: `${TIMEOUT}CLUSTER orders USING orders_created_at_idx;`,
    at: '2:1',
    safe: `CREATE INDEX CONCURRENTLY orders_created_at_idx ON orders (created_at);`,
  },
  {
    rule: 'lock-table',
    unsafe: `${TIMEOUT}LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;\nUPDATE orders SET status = 'open' WHERE status IS NULL;`,
    at: '2:1',
    safe: `${TIMEOUT}UPDATE orders SET status = 'open' WHERE status IS NULL;`,
  },
  {
    rule: 'missing-lock-timeout',
    unsafe: `ALTER TABLE users ADD COLUMN note text;`,
    at: '1:1',
    safe: `${TIMEOUT}ALTER TABLE users ADD COLUMN note text;`,
  },
  {
    rule: 'concurrently-in-transaction',
    unsafe: `BEGIN;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCOMMIT;`,
    at: '2:1',
    safe: `CREATE INDEX CONCURRENTLY users_email_idx ON users (email);`,
  },
  {
    rule: 'drop-not-null',
    unsafe: `${TIMEOUT}ALTER TABLE users ALTER COLUMN email DROP NOT NULL;`,
    at: '2:1',
    safe: `-- cutover:phase contract\n${TIMEOUT}ALTER TABLE users ALTER COLUMN email DROP NOT NULL;`,
  },
  {
    rule: 'drop-trigger',
    unsafe: `${TIMEOUT}DROP TRIGGER users_sync_name ON users;`,
    at: '2:1',
    safe: `-- cutover:phase contract\n${TIMEOUT}DROP TRIGGER users_sync_name ON users;`,
  },
  {
    rule: 'truncate-cascade',
    unsafe: `${TIMEOUT}TRUNCATE import_batches CASCADE;`,
    at: '2:1',
    safe: `${TIMEOUT}TRUNCATE import_rows, import_batches;`,
  },
  {
    rule: 'rename-enum-value',
    unsafe: `${TIMEOUT}ALTER TYPE order_status RENAME VALUE 'shipped' TO 'dispatched';`,
    at: '2:1',
    safe: `${TIMEOUT}ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'dispatched';`,
  },
  {
    rule: 'rewrite-table',
    unsafe: `${TIMEOUT}ALTER TABLE events SET UNLOGGED;`,
    at: '2:1',
    safe: `${TIMEOUT}CREATE UNLOGGED TABLE events_staging (LIKE events INCLUDING ALL);`,
  },
  {
    rule: 'refresh-materialized-view-not-concurrently',
    unsafe: `${TIMEOUT}REFRESH MATERIALIZED VIEW daily_totals;`,
    at: '2:1',
    safe: `${TIMEOUT}REFRESH MATERIALIZED VIEW CONCURRENTLY daily_totals;`,
  },
  {
    rule: 'drop-schema-cascade',
    unsafe: `${TIMEOUT}DROP SCHEMA reporting CASCADE;`,
    at: '2:1',
    safe: `-- cutover:phase contract\n${TIMEOUT}DROP TABLE reporting.daily_totals;\nDROP SCHEMA reporting;`,
  },
  {
    rule: 'drop-database',
    unsafe: `DROP DATABASE analytics_old;`,
    at: '1:1',
    safe: `REVOKE CONNECT ON DATABASE analytics_old FROM PUBLIC;`,
  },
  {
    rule: 'reindex-not-concurrently',
    unsafe: `${TIMEOUT}REINDEX INDEX users_email_idx;`,
    at: '2:1',
    safe: `REINDEX INDEX CONCURRENTLY users_email_idx;`,
  },
  {
    rule: 'detach-partition-not-concurrently',
    unsafe: `${TIMEOUT}ALTER TABLE events DETACH PARTITION events_2023;`,
    at: '2:1',
    safe: `ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;`,
  },
  {
    rule: 'missing-statement-timeout',
    unsafe: `SET lock_timeout = '5s';\n-- cutover-lint-disable-next-statement change-column-type: varchar(40) to text, no rewrite\nALTER TABLE users ALTER COLUMN bio TYPE text;`,
    at: '3:1',
    safe: `SET lock_timeout = '5s';\nSET statement_timeout = '2min';\n-- cutover-lint-disable-next-statement change-column-type: varchar(40) to text, no rewrite\nALTER TABLE users ALTER COLUMN bio TYPE text;`,
  },
  {
    rule: 'nested-transaction',
    unsafe: `BEGIN;\n${TIMEOUT}ALTER TABLE users ADD COLUMN note text;\nBEGIN;\nALTER TABLE users ADD COLUMN tag text;\nCOMMIT;\nCOMMIT;`,
    at: '4:1',
    safe: `BEGIN;\n${TIMEOUT}ALTER TABLE users ADD COLUMN note text;\nSAVEPOINT tag_step;\nALTER TABLE users ADD COLUMN tag text;\nRELEASE SAVEPOINT tag_step;\nCOMMIT;`,
  },
  {
    rule: 'unclosed-transaction',
    unsafe: `BEGIN;\n${TIMEOUT}ALTER TABLE users ADD COLUMN note text;`,
    at: '1:1',
    safe: `BEGIN;\n${TIMEOUT}ALTER TABLE users ADD COLUMN note text;\nCOMMIT;`,
  },
  {
    rule: 'commit-without-begin',
    unsafe: `${TIMEOUT}ALTER TABLE users ADD COLUMN note text;\nCOMMIT;`,
    at: '3:1',
    safe: `${TIMEOUT}ALTER TABLE users ADD COLUMN note text;`,
  },
  {
    rule: 'rollback-in-migration',
    unsafe: `BEGIN;\n${TIMEOUT}ALTER TABLE users ADD COLUMN note text;\nROLLBACK;`,
    at: '4:1',
    safe: `BEGIN;\n${TIMEOUT}ALTER TABLE users ADD COLUMN note text;\nCOMMIT;`,
  },
  {
    rule: 'commit-in-do-block',
    unsafe: `${TIMEOUT}DO $$\nBEGIN\n  UPDATE users SET tier = 'free' WHERE tier IS NULL;\n  COMMIT;\nEND\n$$;`,
    at: '2:1',
    safe: `-- cutover:no-transaction\n${TIMEOUT}DO $$\nBEGIN\n  UPDATE users SET tier = 'free' WHERE tier IS NULL;\n  COMMIT;\nEND\n$$;`,
  },
  {
    rule: 'parse-error',
    unsafe: `${TIMEOUT}ALTER TABLE users ADD COLUMN;`,
    at: '2:29',
    safe: `${TIMEOUT}ALTER TABLE users ADD COLUMN note text;`,
  },
  {
    rule: 'disable-without-reason',
    unsafe: `${TIMEOUT}-- cutover-lint-disable-next-statement change-column-type\nALTER TABLE users ALTER COLUMN bio TYPE text;`,
    at: '2:1',
    safe: `${TIMEOUT}-- cutover-lint-disable-next-statement change-column-type: varchar(200) to text needs no rewrite\nALTER TABLE users ALTER COLUMN bio TYPE text;`,
  },
  {
    rule: 'invalid-directive',
    unsafe: `${TIMEOUT}-- cutover-lint-disable-next-statement change-colum-type: typo\nALTER TABLE users ADD COLUMN note text;`,
    at: '2:1',
    safe: `${TIMEOUT}-- cutover-lint-disable-next-statement change-column-type: varchar(200) to text needs no rewrite\nALTER TABLE users ADD COLUMN note text;`,
  },
];

describe('each rule flags the unsafe migration and accepts its safe rewrite', () => {
  for (const c of CASES) {
    it(c.rule, async () => {
      const unsafe = await findingsOf(c.unsafe, c.file);
      const hit = unsafe.find((finding) => finding.ruleId === c.rule);
      assert.ok(hit, `${c.rule} should flag:\n${c.unsafe}\ngot ${JSON.stringify(unsafe.map((f) => f.ruleId))}`);
      assert.equal(`${hit.line}:${hit.column}`, c.at);
      assert.ok(
        hit.message.length > 40 && hit.safeAlternative.length > 10,
        'a finding says why and what to do instead',
      );
      assert.deepEqual(await hitsOf(c.safe, c.safeFile ?? c.file), [], `the safe rewrite should be clean:\n${c.safe}`);
    });
  }

  it('covers every statement rule', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    assert.deepEqual(
      STATEMENT_RULES.map((rule) => rule.id).filter((id) => !covered.has(id)),
      [],
    );
  });
});

describe('volatile defaults', () => {
  const add = (column: string): string => `${TIMEOUT}ALTER TABLE users ADD COLUMN ${column};`;
  for (const column of [
    'token uuid DEFAULT gen_random_uuid()',
    'token uuid DEFAULT uuid_generate_v4()',
    'seen_at timestamptz DEFAULT clock_timestamp()',
    'seen text DEFAULT timeofday()',
    'lucky int DEFAULT (random() * 10)::int',
    "n bigint DEFAULT nextval('users_n_seq')",
    'n bigserial',
    'n bigint GENERATED ALWAYS AS IDENTITY',
    'total numeric GENERATED ALWAYS AS (price * quantity) STORED',
  ]) {
    it(`flags ${column}`, async () => {
      assert.deepEqual(await hitsOf(add(column)), ['add-column-volatile-default@2:1']);
    });
  }
  for (const column of [
    'created_at timestamptz DEFAULT now()',
    'created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP',
    "status text NOT NULL DEFAULT 'new'",
    'total numeric GENERATED ALWAYS AS (price * quantity) VIRTUAL',
  ]) {
    it(`accepts ${column} (stable or constant: no rewrite since PostgreSQL 11)`, async () => {
      assert.deepEqual(await hitsOf(add(column)), []);
    });
  }

  it('takes a function it does not know as volatile: CREATE FUNCTION defaults to VOLATILE', async () => {
    const [finding] = await findingsOf(add('settings jsonb DEFAULT build_defaults()'));
    assert.equal(finding?.ruleId, 'add-column-volatile-default');
    assert.match(
      finding?.message ?? '',
      /build_defaults\(\), which the linter does not know to be immutable or stable/,
    );
    assert.deepEqual(await hitsOf(add('settings jsonb DEFAULT app.build_defaults()')), [
      'add-column-volatile-default@2:1',
    ]);
  });

  it('believes a function the file itself declares IMMUTABLE or STABLE, and not one it declares VOLATILE', async () => {
    const declare = (volatility: string): string =>
      `${TIMEOUT}CREATE FUNCTION app.build_defaults() RETURNS jsonb LANGUAGE sql ${volatility} AS $$ SELECT '{}'::jsonb $$;\nALTER TABLE users ADD COLUMN settings jsonb DEFAULT app.build_defaults();`;
    assert.deepEqual(await hitsOf(declare('IMMUTABLE')), []);
    assert.deepEqual(await hitsOf(declare('STABLE')), []);
    assert.deepEqual(await hitsOf(declare('VOLATILE')), ['add-column-volatile-default@3:1']);
    assert.deepEqual(await hitsOf(declare('')), ['add-column-volatile-default@3:1']);
  });

  it('knows common immutable and stable built-ins', async () => {
    for (const column of [
      "day date DEFAULT date_trunc('day', now())::date",
      "slug text DEFAULT lower('X')",
      "meta jsonb DEFAULT jsonb_build_object('v', 1)",
      "tz text DEFAULT current_setting('TimeZone')",
    ])
      assert.deepEqual(await hitsOf(add(column)), [], column);
  });

  it('suggests the default as written, for new rows only, and a backfill', async () => {
    const [finding] = await findingsOf(add('token uuid DEFAULT gen_random_uuid() NOT NULL'));
    assert.equal(finding?.safeAlternative.split('\n')[0], 'ALTER TABLE users ADD COLUMN token uuid;');
    assert.match(
      finding?.safeAlternative ?? '',
      /ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid\(\);/,
    );
    assert.match(finding?.message ?? '', /ACCESS EXCLUSIVE/);
  });
});

describe('tables created in the same file are new and empty', () => {
  it('lets indexes, constraints and columns on them through', async () => {
    const sql = [
      'CREATE TABLE invoices (id bigint PRIMARY KEY, customer_id bigint, total numeric);',
      'CREATE INDEX invoices_customer_idx ON invoices (customer_id);',
      'ALTER TABLE invoices ADD CONSTRAINT invoices_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;',
      'ALTER TABLE invoices ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();',
      'ALTER TABLE invoices ALTER COLUMN total SET NOT NULL;',
      'ALTER TABLE invoices ADD CONSTRAINT invoices_total_key UNIQUE (total);',
    ].join('\n');
    // Only the lock the first FK takes on the existing customers table, without a lock_timeout.
    assert.deepEqual(await hitsOf(sql), ['missing-lock-timeout@3:1']);
  });

  it('still flags the same statements on a table the file did not create', async () => {
    assert.deepEqual(await hitsOf(`${TIMEOUT}CREATE INDEX invoices_customer_idx ON invoices (customer_id);`), [
      'create-index-not-concurrently@2:1',
    ]);
  });
});

describe('constraints validated in the transaction that added them', () => {
  it('flags VALIDATE in the same (wrapped) transaction as ADD ... NOT VALID: the lock is held through the scan', async () => {
    const sql = `${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fkey;`;
    const findings = await findingsOf(sql);
    assert.deepEqual(
      findings.map((f) => `${f.ruleId}@${f.line}`),
      ['add-foreign-key-not-valid@3'],
    );
    assert.match(findings[0]?.message ?? '', /same transaction/);
  });

  it('accepts a SET NOT NULL after an explicit transaction that added and validated the check... only when they were committed apart', async () => {
    const together = [
      TIMEOUT + 'ALTER TABLE orders ADD CONSTRAINT note_nn CHECK (note IS NOT NULL) NOT VALID;',
      'ALTER TABLE orders VALIDATE CONSTRAINT note_nn;',
      'ALTER TABLE orders ALTER COLUMN note SET NOT NULL;',
    ].join('\n');
    assert.deepEqual(await hitsOf(together), ['add-check-not-valid@3:1']);
    const apart = together.replace(TIMEOUT, `${TIMEOUT}BEGIN;\n`).replace('NOT VALID;\n', 'NOT VALID;\nCOMMIT;\n');
    assert.deepEqual(await hitsOf(apart), []);
  });

  it('takes a validated check that ANDs NOT NULL tests as proof for each of its columns, and OR as proof for none', async () => {
    const file = (check: string, columns: string[]): string =>
      [
        `-- cutover:no-transaction\n${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_nn CHECK (${check}) NOT VALID;`,
        'ALTER TABLE orders VALIDATE CONSTRAINT orders_nn;',
        ...columns.map((column) => `ALTER TABLE orders ALTER COLUMN ${column} SET NOT NULL;`),
      ].join('\n');
    assert.deepEqual(await hitsOf(file('note IS NOT NULL AND total IS NOT NULL', ['note', 'total'])), []);
    assert.deepEqual(
      await hitsOf(file('(note IS NOT NULL AND total > 0) AND total IS NOT NULL', ['note', 'total'])),
      [],
    );
    assert.deepEqual(await hitsOf(file('note IS NOT NULL AND total > 0', ['note', 'total'])), ['set-not-null@6:1']);
    assert.deepEqual(await hitsOf(file('note IS NOT NULL OR total IS NOT NULL', ['note'])), ['set-not-null@5:1']);
    assert.deepEqual(await hitsOf(file('NOT (note IS NULL)', ['note'])), ['set-not-null@5:1']);
  });

  it('accepts PostgreSQL 18 NOT NULL constraints added NOT VALID and validated later', async () => {
    const sql = `-- cutover:no-transaction\n${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_note_nn;`;
    assert.deepEqual(await hitsOf(sql), []);
    assert.deepEqual(await hitsOf(`${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note;`), [
      'set-not-null@2:1',
    ]);
  });
});

describe('lock_timeout', () => {
  it('counts SET LOCAL inside the transaction the runner opens', async () => {
    assert.deepEqual(await hitsOf("SET LOCAL lock_timeout = '2s';\nALTER TABLE users ADD COLUMN note text;"), []);
  });

  it('does not count SET LOCAL in a file run statement by statement, where it ends with its own statement', async () => {
    assert.deepEqual(
      await hitsOf(
        "-- cutover:no-transaction\nSET LOCAL lock_timeout = '2s';\nALTER TABLE users ADD COLUMN note text;",
      ),
      ['missing-lock-timeout@3:1'],
    );
  });

  it('counts set_config, the function form of SET, as SET and SET LOCAL count', async () => {
    for (const set of [
      "SELECT set_config('lock_timeout', '2s', false);",
      "SELECT pg_catalog.set_config('lock_timeout', '2s', true);",
    ])
      assert.deepEqual(await hitsOf(`${set}\nALTER TABLE users ADD COLUMN note text;`), [], set);
    for (const set of [
      "SELECT set_config('lock_timeout', '0', false);",
      "SELECT set_config('statement_timeout', '2s', false);",
      "SELECT other.set_config('lock_timeout', '2s', false);",
      // A value the linter cannot read is not a timeout it knows of.
      "SELECT set_config('lock_timeout', current_setting('x'), false);",
    ])
      assert.deepEqual(
        await hitsOf(`${set}\nALTER TABLE users ADD COLUMN note text;`),
        ['missing-lock-timeout@2:1'],
        set,
      );
    // SET LOCAL's function form in a file run statement by statement ends with its own statement.
    assert.deepEqual(
      await hitsOf(
        "-- cutover:no-transaction\nSELECT set_config('lock_timeout', '2s', true);\nALTER TABLE users ADD COLUMN note text;",
      ),
      ['missing-lock-timeout@3:1'],
    );
  });

  it('treats 0, DEFAULT and RESET as no timeout', async () => {
    for (const off of [
      'SET lock_timeout = 0;',
      "SET lock_timeout = '0';",
      'SET lock_timeout TO DEFAULT;',
      "SET lock_timeout = '1s';\nRESET lock_timeout;",
    ]) {
      const sql = `${off}\nALTER TABLE users ADD COLUMN note text;`;
      assert.deepEqual(
        (await findingsOf(sql)).map((f) => f.ruleId),
        ['missing-lock-timeout'],
        off,
      );
    }
  });

  it('is reported once per file: one SET at the top fixes every statement', async () => {
    const sql = 'ALTER TABLE users ADD COLUMN a text;\nALTER TABLE users ADD COLUMN b text;';
    assert.deepEqual(await hitsOf(sql), ['missing-lock-timeout@1:1']);
  });

  it('ignores locks that let writes through (CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT)', async () => {
    assert.deepEqual(
      await hitsOf(
        '-- cutover:no-transaction\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fkey;\nCREATE INDEX CONCURRENTLY a ON orders (b);',
      ),
      [],
    );
  });

  it('names the lock and the tables in the message', async () => {
    const [finding] = await findingsOf(
      'ALTER TABLE orders ADD CONSTRAINT orders_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;',
    );
    assert.match(finding?.message ?? '', /SHARE ROW EXCLUSIVE lock on orders \(and locks users\)/);
  });
});

describe('the safe alternatives are concrete SQL', () => {
  it('rewrites CREATE INDEX with CONCURRENTLY where PostgreSQL wants it', async () => {
    const [finding] = await findingsOf(
      `${TIMEOUT}create unique index if not exists users_email_key on users using btree (lower(email));`,
    );
    assert.match(
      finding?.safeAlternative ?? '',
      /^create unique index CONCURRENTLY if not exists users_email_key on users using btree \(lower\(email\)\);$/m,
    );
  });

  it('adds NOT VALID to the foreign key and names the constraint to validate', async () => {
    const [finding] = await findingsOf(`${TIMEOUT}ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);`);
    assert.equal(finding?.ruleId, 'add-foreign-key-not-valid');
    assert.match(
      finding?.safeAlternative ?? '',
      /ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY \(user_id\) REFERENCES users \(id\) NOT VALID;/,
    );
    assert.match(finding?.safeAlternative ?? '', /VALIDATE CONSTRAINT orders_user_id_fkey;/);
  });
});

describe('rewrites, refreshes and enum renames', () => {
  const of = async (sql: string, rule: string) => (await findingsOf(sql)).filter((f) => f.ruleId === rule);

  it('flags each storage change that copies an existing table, and none on a table of the same file', async () => {
    for (const clause of ['SET TABLESPACE fast_ssd', 'SET LOGGED', 'SET UNLOGGED', 'SET ACCESS METHOD heap']) {
      const hits = await of(`${TIMEOUT}ALTER TABLE app.events ${clause};`, 'rewrite-table');
      assert.equal(hits.length, 1, clause);
      assert.match(hits[0]!.message, /copies all of app\.events .* ACCESS EXCLUSIVE/, clause);
    }
    const two = await of(`${TIMEOUT}ALTER TABLE events SET TABLESPACE a, SET LOGGED;`, 'rewrite-table');
    assert.equal(two.length, 2, 'one finding per rewriting clause');
    assert.deepEqual(
      await findingsOf(`${TIMEOUT}CREATE TABLE staging (id int PRIMARY KEY);\nALTER TABLE staging SET UNLOGGED;`),
      [],
    );
  });

  it('says a refresh WITH NO DATA empties the view, and leaves a view of the same file alone', async () => {
    const empty = await of(
      `${TIMEOUT}REFRESH MATERIALIZED VIEW totals WITH NO DATA;`,
      'refresh-materialized-view-not-concurrently',
    );
    assert.match(empty[0]?.message ?? '', /empties totals: every query .* fails/);
    const created = `${TIMEOUT}CREATE MATERIALIZED VIEW totals AS SELECT 1 AS n;\nREFRESH MATERIALIZED VIEW totals;`;
    assert.deepEqual(await of(created, 'refresh-materialized-view-not-concurrently'), []);
  });

  it('allows an enum rename in a contract migration, and quotes the labels it names', async () => {
    const hits = await of(`${TIMEOUT}ALTER TYPE "Mood" RENAME VALUE 'it''s' TO 'fine';`, 'rename-enum-value');
    assert.match(hits[0]?.message ?? '', /Renaming "Mood" value 'it''s' to 'fine'/);
    assert.deepEqual(
      await of(`-- cutover:phase contract\n${TIMEOUT}ALTER TYPE mood RENAME VALUE 'a' TO 'b';`, 'rename-enum-value'),
      [],
    );
  });
});
