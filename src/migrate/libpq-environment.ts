import { CutoverError } from '../core/errors.js';
import { redactUrl } from '../config/redact.js';

/**
 * The connection URL of a service's database, as the environment of
 * pg_dump / pg_restore (libpq's PG* variables). The URL carries a password
 * and key paths, so it never goes on a command line (`ps` shows those to
 * every user). Every query parameter of a postgres:// URL that libpq reads
 * from the environment is passed on: a backup of a database reached over
 * verified TLS with a client certificate must connect exactly as the
 * migrations do, not fall back to libpq's defaults (~/.postgresql/root.crt).
 *
 * Pure: the caller adds PATH and runs the tool.
 */
const ENV_OF_PARAMETER: Readonly<Record<string, string>> = {
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  dbname: 'PGDATABASE',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  passfile: 'PGPASSFILE',
  service: 'PGSERVICE',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  client_encoding: 'PGCLIENTENCODING',
  sslmode: 'PGSSLMODE',
  requiressl: 'PGREQUIRESSL',
  sslcompression: 'PGSSLCOMPRESSION',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslrootcert: 'PGSSLROOTCERT',
  sslcrl: 'PGSSLCRL',
  sslcrldir: 'PGSSLCRLDIR',
  sslsni: 'PGSSLSNI',
  ssl_min_protocol_version: 'PGSSLMINPROTOCOLVERSION',
  ssl_max_protocol_version: 'PGSSLMAXPROTOCOLVERSION',
  gssencmode: 'PGGSSENCMODE',
  gsslib: 'PGGSSLIB',
  krbsrvname: 'PGKRBSRVNAME',
  channel_binding: 'PGCHANNELBINDING',
  require_auth: 'PGREQUIREAUTH',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  load_balance_hosts: 'PGLOADBALANCEHOSTS',
};

/** Without a connect_timeout in the URL, a backup against an unreachable host gives up after this many seconds. */
const DEFAULT_CONNECT_TIMEOUT_SECONDS = '10';

export function libpqEnvironment(url: string): Record<string, string> {
  const parsed = new URL(url);
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: DEFAULT_CONNECT_TIMEOUT_SECONDS };
  env.PGHOST = decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')) || 'localhost';
  env.PGPORT = parsed.port || '5432';
  env.PGDATABASE = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (parsed.username) env.PGUSER = decodeURIComponent(parsed.username);
  if (parsed.password) env.PGPASSWORD = decodeURIComponent(parsed.password);
  const refused: string[] = [];
  // A query parameter wins over the URL's parts, as in libpq (e.g. ?host=/var/run/postgresql).
  for (const [name, value] of parsed.searchParams) {
    // node-postgres's own `ssl=true` (the migrations' driver): TLS required, as libpq's sslmode=require.
    if (name === 'ssl') {
      if (!parsed.searchParams.has('sslmode') && ['true', '1', 'require'].includes(value)) env.PGSSLMODE = 'require';
      continue;
    }
    const variable = ENV_OF_PARAMETER[name];
    if (variable === undefined) refused.push(name);
    else env[variable] = value;
  }
  if (refused.length > 0) {
    // sslpassword has no environment variable: it cannot reach pg_dump but on a command line. libpq itself refuses unknown ones.
    throw new CutoverError(
      'BACKUP_FAILED',
      `the database URL ${redactUrl(url)} has connection parameters pg_dump and pg_restore cannot be given safely: ${refused.join(', ')}`,
      {
        hint: "Pass only libpq parameters that have a PG* environment variable (sslmode, sslrootcert, sslcert, sslkey, ...); for sslpassword use a key without a passphrase, readable only by the server's user.",
      },
    );
  }
  return env;
}
