import { EventEmitter } from 'node:events';
import { CutoverError } from '../../core/errors.js';
import type { EvaluationContext, JsonValue } from '../../flags/flag-model.js';
import { resolveClientOptions, type FlagClientOptions, type ResolvedClientOptions } from './client-options.js';
import { CacheWriter, readCache } from './disk-cache.js';
import { EvaluationCounter } from './evaluation-counter.js';
import type { FlagEntry } from './flag-entry.js';
import { FlagEvaluator, type FlagEvaluation, type EvaluateOptions } from './flag-evaluator.js';
import { FlagSet, type FlagSnapshot } from './flag-set.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { fetchSnapshot, isPermanent, postEvaluations, type FlagServer } from './server-requests.js';
import { SetFollower } from './set-follower.js';
import { SseStream } from './sse-stream.js';

/**
 * The Node SDK: the flags of one environment in memory, kept current by the
 * server's stream, evaluated locally and synchronously (no request per
 * evaluation). See docs/flags.md for the protocol.
 *
 * Life cycle: the constructor starts connecting; ready() resolves with the
 * server's set, or with the disk cache when the server cannot be reached
 * (the stream keeps retrying and catches up when the server returns); it
 * rejects only when neither is available within `readyTimeoutMs`.
 *
 * Events: `change` ({ revision, keys }) after every new set, `stale` when the
 * stream is lost (or the client started from the cache), `ready` when a
 * stream delivers a set again, `error` for what went wrong along the way
 * (emitted only while someone listens, so an application that ignores it is
 * never crashed by Node's unhandled-'error' rule).
 */

export interface FlagChange {
  revision: number;
  keys: string[];
}

export interface ReadyInfo {
  source: 'server' | 'cache';
  revision: number;
}

export type FlagClientState = 'starting' | 'live' | 'stale' | 'closed';

interface FlagClientEvents {
  change: [FlagChange];
  stale: [CutoverError];
  ready: [];
  error: [CutoverError];
}

const EMPTY_CONTEXT: EvaluationContext = Object.freeze({});
/** Lines per report request (the server accepts up to 10,000). */
const REPORT_LINES = 5_000;

export class FlagClient extends EventEmitter<FlagClientEvents> {
  private readonly options: ResolvedClientOptions;
  private readonly server: FlagServer;
  private readonly counter = new EvaluationCounter();
  private readonly evaluator = new FlagEvaluator();
  private readonly backoff: ReconnectBackoff;
  private readonly stream: SseStream;
  private readonly follower: SetFollower;
  private readonly cacheWriter: CacheWriter | null;
  private readonly readiness: Promise<ReadyInfo>;
  private set: FlagSet;
  private source: 'none' | 'cache' | 'server' = 'none';
  private currentState: FlagClientState = 'starting';
  private cached: FlagSnapshot | null = null;
  private lastError: CutoverError | null = null;
  private settleReady: { resolve(info: ReadyInfo): void; reject(error: CutoverError): void } | null = null;
  private readyTimer: NodeJS.Timeout | null = null;
  private reportTimer: NodeJS.Timeout | null = null;
  private reporting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: FlagClientOptions) {
    super();
    this.options = resolveClientOptions(options);
    this.server = { url: this.options.url, token: this.options.token, environment: this.options.environment };
    this.set = FlagSet.empty(this.options.environment);
    this.backoff = new ReconnectBackoff(this.options.reconnect);
    this.cacheWriter =
      this.options.cacheFile === undefined
        ? null
        : new CacheWriter(this.options.cacheFile, (error) => this.reportError(error, 'cannot write the flag cache'));
    this.follower = new SetFollower({
      current: () => this.set,
      hasServerSet: () => this.source === 'server',
      install: (next, keys, snapshot) => this.install(next, keys, snapshot),
      fetchSnapshot: () => fetchSnapshot(this.server, AbortSignal.timeout(this.options.requestTimeoutMs)),
      reconnect: () => this.stream.reconnect(),
      error: (error) => this.reportError(error),
      tallyFor: (key) => this.counter.tallyFor(key),
    });
    this.stream = new SseStream({
      server: this.server,
      backoff: this.backoff,
      idleTimeoutMs: this.options.idleTimeoutMs,
      onOpen: () => undefined,
      onEvent: (message) => this.follower.onMessage(message),
      onDrop: (error) => this.onDrop(error),
    });
    this.readiness = this.start();
    // ready() hands the same promise to every caller; this keeps an unawaited failure from being "unhandled".
    this.readiness.catch(() => undefined);
    if (this.options.reportIntervalMs > 0) {
      this.reportTimer = setInterval(() => void this.flush(), this.options.reportIntervalMs);
      this.reportTimer.unref();
    }
  }

  /** Resolves once the client has a flag set: the server's, or the cache's when the server is unreachable. */
  ready(): Promise<ReadyInfo> {
    return this.readiness;
  }

  /** `live` (following the stream), `stale` (answering from an old set while reconnecting), `starting` or `closed`. */
  get state(): FlagClientState {
    return this.currentState;
  }

  /** The revision of the set in use (0 before the first set). */
  get revision(): number {
    return this.set.revision;
  }

  get environment(): string {
    return this.set.environment;
  }

  /** The keys of the flags in the set. */
  keys(): string[] {
    return this.set.keys();
  }

  /** True when the flag answers a variant other than its `offVariant`; false for an unknown flag or an error. */
  isEnabled(key: string, context: EvaluationContext = EMPTY_CONTEXT): boolean {
    const entry = this.set.get(key);
    return entry === undefined ? false : this.evaluator.isEnabled(entry, context);
  }

  /** The flag's value, or `defaultValue` when the flag is unknown, fails, or answers another type than the default's. */
  getValue<T extends JsonValue>(key: string, defaultValue: T, context: EvaluationContext = EMPTY_CONTEXT): T {
    const entry = this.set.get(key);
    return entry === undefined ? defaultValue : this.evaluator.getValue(entry, defaultValue, context);
  }

  /** The whole answer: value, variant, reason (DISABLED, TARGETING_MATCH, SPLIT, DEFAULT, ERROR), ruleIndex, error. */
  evaluate(key: string, context: EvaluationContext = EMPTY_CONTEXT, options: EvaluateOptions = {}): FlagEvaluation {
    const entry: FlagEntry | undefined = this.set.get(key);
    if (entry === undefined) {
      const where = this.set.environment === '' ? '' : ` of environment "${this.set.environment}"`;
      return {
        value: null,
        variant: null,
        reason: 'ERROR',
        errorCode: 'FLAG_NOT_FOUND',
        errorMessage: `flag "${key}" is not in the flag set${where}`,
      };
    }
    return this.evaluator.evaluate(entry, context, options);
  }

  /** Reports the evaluation counts now (also done every `reportIntervalMs` and at close). Never rejects: a failed report keeps its counts. */
  async flush(): Promise<void> {
    while (this.reporting !== null) await this.reporting;
    this.reporting = this.report().finally(() => {
      this.reporting = null;
    });
    await this.reporting;
  }

  /** Stops the stream, reports the remaining counts, waits for the cache write; nothing keeps running afterwards. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async start(): Promise<ReadyInfo> {
    if (this.options.cacheFile !== undefined)
      this.cached = await readCache(this.options.cacheFile, this.options.environment);
    return new Promise<ReadyInfo>((resolve, reject) => {
      if (this.currentState === 'closed') return reject(closedBeforeReady());
      this.settleReady = { resolve, reject };
      this.readyTimer = setTimeout(() => this.onReadyTimeout(), this.options.readyTimeoutMs);
      this.readyTimer.unref();
      this.stream.start();
    });
  }

  private install(next: FlagSet, keys: string[], snapshot: FlagSnapshot | null): void {
    const first = this.source === 'none';
    const previousRevision = this.set.revision;
    this.set = next;
    if (snapshot !== null) {
      // A snapshot ends any gap: the stream delivered a whole set, so the backoff starts again from 0.5 s.
      this.backoff.reset();
      this.source = 'server';
    }
    this.cacheWriter?.save(snapshot ?? next.toSnapshot());
    if (!first && (keys.length > 0 || next.revision !== previousRevision))
      this.emit('change', { revision: next.revision, keys });
    if (snapshot !== null && this.currentState !== 'live' && this.currentState !== 'closed') {
      this.currentState = 'live';
      this.resolveReady('server');
      this.emit('ready');
    }
  }

  private onDrop(error: CutoverError): void {
    this.lastError = error;
    this.reportError(error);
    if (this.currentState === 'live') {
      this.currentState = 'stale';
      this.emit('stale', error);
    } else if (this.currentState === 'starting' && (this.cached !== null || isPermanent(error))) {
      this.fallBack(error);
    }
  }

  private onReadyTimeout(): void {
    if (this.currentState === 'starting')
      this.fallBack(
        this.lastError ??
          new CutoverError(
            'SERVER_UNREACHABLE',
            `no flag set from ${this.options.url} within ${this.options.readyTimeoutMs} ms`,
          ),
      );
  }

  /** The server could not give a set: answer from the cache (and keep retrying), or fail ready(). */
  private fallBack(error: CutoverError): void {
    if (this.cached === null) {
      this.rejectReady(
        new CutoverError(
          error.code === 'SERVER_UNREACHABLE' ? 'SERVER_UNREACHABLE' : error.code,
          `The flag client has no flag set: ${error.message}, and no cache${this.options.cacheFile === undefined ? ' is configured (cacheFile)' : ` in ${this.options.cacheFile}`}`,
          { hint: error.hint, cause: error },
        ),
      );
      return;
    }
    this.set = FlagSet.fromSnapshot(this.cached, (key) => this.counter.tallyFor(key));
    this.source = 'cache';
    this.currentState = 'stale';
    this.emit('stale', error);
    this.resolveReady('cache');
  }

  private resolveReady(source: ReadyInfo['source']): void {
    if (this.readyTimer !== null) clearTimeout(this.readyTimer);
    this.settleReady?.resolve({ source, revision: this.set.revision });
    this.settleReady = null;
  }

  private rejectReady(error: CutoverError): void {
    if (this.readyTimer !== null) clearTimeout(this.readyTimer);
    this.settleReady?.reject(error);
    this.settleReady = null;
  }

  private async report(): Promise<void> {
    const batch = this.counter.take(new Set(this.set.keys()));
    const environment = this.set.environment === '' ? undefined : this.set.environment;
    // The server takes at most 10,000 lines a request; a failed part and the parts after it are kept for the next report.
    for (let start = 0; start < batch.length; start += REPORT_LINES) {
      try {
        await postEvaluations(
          this.server,
          environment,
          batch.slice(start, start + REPORT_LINES),
          AbortSignal.timeout(this.options.requestTimeoutMs),
        );
      } catch (error) {
        this.counter.restore(batch.slice(start));
        this.reportError(error, 'cannot report evaluation counts');
        return;
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.currentState = 'closed';
    if (this.reportTimer !== null) clearInterval(this.reportTimer);
    this.rejectReady(closedBeforeReady());
    await this.readiness.catch(() => undefined);
    await this.stream.close();
    await this.follower.idle();
    await this.flush();
    await this.cacheWriter?.idle();
  }

  private reportError(error: unknown, context?: string): void {
    if (this.listenerCount('error') === 0) return;
    const cutoverError =
      error instanceof CutoverError
        ? error
        : new CutoverError(
            'INTERNAL',
            `${context ?? 'flag client'}: ${(error as Error | null)?.message ?? String(error)}`,
            { cause: error },
          );
    this.emit('error', cutoverError);
  }
}

function closedBeforeReady(): CutoverError {
  return new CutoverError('INVALID_STATE', 'The flag client was closed before it had a flag set.', {
    hint: 'Await ready() before close(), or ignore this rejection.',
  });
}
