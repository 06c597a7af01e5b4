import net from 'node:net';
import { CutoverError } from '../../core/errors.js';

/**
 * A small client of HAProxy's Runtime API (the stats socket): one command
 * per connection, which HAProxy answers and then closes. Commands are built
 * from words; a word holding anything but printable ASCII without `;`, `\`,
 * `#` or quotes is refused, so a value can never end a command and start
 * another (HAProxy splits a line on `;` and ends it at a newline).
 */
export interface RuntimeApiOptions {
  socketPath: string;
  /** Per command (default 5 s). */
  timeoutMs?: number;
}

/** An answer longer than this is cut off: `show stat` of thousands of servers stays well under it. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
const WORD = /^[\x21\x24-\x26\x28-\x3a\x3c-\x5b\x5d-\x7e]{1,4096}$/;

export class HaproxyRuntimeApi {
  private readonly socketPath: string;
  private readonly timeoutMs: number;

  constructor(options: RuntimeApiOptions) {
    this.socketPath = options.socketPath;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Sends one command; resolves with HAProxy's whole answer. Rejects ROUTER_UNAVAILABLE when the socket does not answer. */
  run(words: readonly string[]): Promise<string> {
    const line = commandLine(words);
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(this.socketPath);
      const chunks: Buffer[] = [];
      let size = 0;
      const fail = (reason: string): void => {
        socket.destroy();
        reject(
          new CutoverError(
            'ROUTER_UNAVAILABLE',
            `HAProxy's Runtime API (${this.socketPath}) did not answer '${words[0] ?? ''}': ${reason}`,
            {
              hint: 'Check that HAProxy runs (its pid file in the state directory) and that the stats socket is cutover’s.',
            },
          ),
        );
      };
      socket.setTimeout(this.timeoutMs, () => fail(`no answer within ${this.timeoutMs} ms`));
      socket.on('error', (error) => fail(error.message));
      socket.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          fail('the answer is too long');
          return;
        }
        chunks.push(chunk);
      });
      socket.on('end', () => {
        socket.destroy();
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      socket.on('connect', () => socket.write(`${line}\n`));
    });
  }

  /**
   * A command that changes state: HAProxy answers an empty line or a
   * confirmation on success, and a message on failure (there is no status
   * code in 2.6), so success is recognised by what it says.
   */
  async change(words: readonly string[], success: RegExp = /^\s*$/): Promise<void> {
    const answer = await this.run(words);
    if (!success.test(answer)) {
      throw new CutoverError(
        'ROUTER_APPLY_FAILED',
        `HAProxy refused '${words.join(' ')}': ${answer.trim().split('\n')[0] ?? ''}`,
      );
    }
  }

  async showStat(): Promise<StatRow[]> {
    // -1 4 -1: every proxy, servers only.
    return parseStatCsv(await this.run(['show', 'stat', '-1', '4', '-1']));
  }

  async showInfo(): Promise<Map<string, string>> {
    const info = new Map<string, string>();
    for (const line of (await this.run(['show', 'info'])).split('\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) info.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    return info;
  }

  async showServersState(): Promise<ServerState[]> {
    return parseServersState(await this.run(['show', 'servers', 'state']));
  }

  async showMap(file: string): Promise<Map<string, string>> {
    return parseMap(await this.run(['show', 'map', file]));
  }
}

/** Refuses any word that could end the command or start another; see WORD. */
export function commandLine(words: readonly string[]): string {
  if (words.length === 0) throw new RangeError('an empty Runtime API command');
  for (const word of words) {
    if (!WORD.test(word))
      throw new RangeError(`'${word.replace(/[^\x20-\x7e]/g, '?')}' cannot be sent to HAProxy's Runtime API`);
  }
  return words.join(' ');
}

/** One server row of `show stat`, with the columns cutover reads. */
export interface StatRow {
  backend: string;
  server: string;
  /** Current sessions (requests in flight and upgraded connections). */
  current: number;
  requests: number;
  status: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number; other: number };
  connectionErrors: number;
  responseErrors: number;
  /** Average total time of the last 1,024 requests (ms). */
  averageTotalMs: number;
  /** HAProxy's status: UP, DOWN, MAINT, DRAIN, no check... */
  state: string;
}

export function parseStatCsv(text: string): StatRow[] {
  const lines = text.split('\n').filter((line) => line.length > 0);
  const header = lines.shift();
  if (header === undefined || !header.startsWith('# ')) return [];
  const columns = new Map(
    header
      .slice(2)
      .split(',')
      .map((name, index) => [name, index]),
  );
  const rows: StatRow[] = [];
  for (const line of lines) {
    const fields = line.split(',');
    const text = (name: string): string => fields[columns.get(name) ?? -1] ?? '';
    const number = (name: string): number => {
      const value = Number(text(name));
      return Number.isFinite(value) ? value : 0;
    };
    if (text('svname') === 'BACKEND' || text('svname') === 'FRONTEND') continue;
    rows.push({
      backend: text('pxname'),
      server: text('svname'),
      current: number('scur'),
      requests: text('req_tot') === '' ? number('stot') : number('req_tot'),
      status: {
        '1xx': number('hrsp_1xx'),
        '2xx': number('hrsp_2xx'),
        '3xx': number('hrsp_3xx'),
        '4xx': number('hrsp_4xx'),
        '5xx': number('hrsp_5xx'),
        other: number('hrsp_other'),
      },
      connectionErrors: number('econ'),
      responseErrors: number('eresp'),
      averageTotalMs: number('ttime'),
      state: text('status'),
    });
  }
  return rows;
}

export interface ServerState {
  backend: string;
  server: string;
  address: string;
  port: number;
  /** srv_admin_state: bit 0x01 forced maintenance, 0x08 forced drain. */
  adminState: number;
}

/** `show servers state`: a version line, a `#` header, then one space-separated row per server. */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split('\n').filter((line) => line.length > 0);
  const header = lines.find((line) => line.startsWith('# '));
  if (header === undefined) return [];
  const columns = new Map(
    header
      .slice(2)
      .split(' ')
      .map((name, index) => [name, index]),
  );
  const out: ServerState[] = [];
  for (const line of lines) {
    if (line.startsWith('#') || /^\d+$/.test(line.trim())) continue;
    const fields = line.split(' ');
    const field = (name: string): string => fields[columns.get(name) ?? -1] ?? '';
    out.push({
      backend: field('be_name'),
      server: field('srv_name'),
      address: field('srv_addr'),
      port: Number(field('srv_port')),
      adminState: Number(field('srv_admin_state')),
    });
  }
  return out;
}

/** `show map <file>`: `<entry id> <key> <value>` per line. */
export function parseMap(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^0x[0-9a-f]+ (\S+) (.*)$/.exec(line);
    if (match !== null) map.set(match[1] as string, match[2] as string);
  }
  return map;
}
