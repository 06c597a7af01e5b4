import { parseDuration } from '../config/duration.js';
import { CutoverError } from '../core/errors.js';
import type { EventRecord, OperationRecord } from '../store/records.js';
import type { AdminClient } from './admin-client.js';
import { dim, formatDuration, green, red, yellow } from './output.js';

/**
 * Follows an operation until it has an outcome (or, for a deploy that waits
 * for promote, until it is ready), printing each event as it happens.
 */
export interface FollowResult {
  operation: OperationRecord;
  events: EventRecord[];
  /** True when the deploy stopped at `ready`, waiting for promote. */
  waitingForPromote: boolean;
  /** True when --timeout ran out first: the operation goes on on the server. */
  timedOut: boolean;
}

/** The global --timeout, in ms (null: follow until the outcome). */
export function parseFollowTimeout(text: string | undefined): number | null {
  if (text === undefined) return null;
  const parsed = parseDuration(text, { allowZero: false });
  if (!parsed.ok)
    throw new CutoverError('BAD_REQUEST', `--timeout ${JSON.stringify(text)}: ${parsed.expected}`, {
      hint: 'For example --timeout 10m or --timeout 90s.',
    });
  return parsed.ms;
}

const POLL_MS = 200;

/** What Ctrl-C leaves running, said when the user stops following (the operation is the server's, not the CLI's). */
export function interruptNote(operation: Pick<OperationRecord, 'kind' | 'service'>, command?: string): string {
  if (command === 'abort') return `the abort goes on on the server; \`cutover status ${operation.service}\` shows it`;
  if (operation.kind === 'deploy')
    return `the deploy continues on the server; \`cutover abort ${operation.service}\` stops it`;
  return `the ${operation.kind} continues on the server; \`cutover status ${operation.service}\` shows it`;
}

export async function followOperation(
  client: AdminClient,
  initial: OperationRecord,
  options: {
    quiet: boolean;
    timeoutMs?: number | null;
    /** Follow from this event on (a command on an operation in flight): its history is not replayed. */
    after?: number;
    /** Printed on Ctrl-C before exiting 130 (default: what goes on and how to stop it). */
    onInterrupt?: string;
    /**
     * Operations this one started (label → operation id), followed along: `deploy --all` shows each
     * service's own events, each line prefixed with its service so side-by-side deploys read apart.
     */
    children?: (operation: OperationRecord) => Record<string, string>;
  },
): Promise<FollowResult> {
  const started = Date.now();
  const deadline = options.timeoutMs ? started + options.timeoutMs : Infinity;
  const events: EventRecord[] = [];
  let after = options.after ?? 0;
  const childAfter = new Map<string, number>();
  // On a terminal, a spinner line under the events says what the operation is doing and for how long.
  const spinner = !options.quiet && process.stdout.isTTY ? new Spinner(started) : null;
  // Ctrl-C stops the following, never the operation: say so, and how to stop it, instead of a silent 130.
  const interrupted = (): void => {
    spinner?.clear();
    process.stderr.write(`\n${yellow('stopped following')}: ${options.onInterrupt ?? interruptNote(initial)}\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    for (;;) {
      const answer = await client.request<{ operation: OperationRecord; events: EventRecord[] }>(
        'GET',
        `/api/v1/operations/${encodeURIComponent(initial.id)}?after=${after}`,
      );
      const lines: { event: EventRecord; label: string | null }[] = answer.events.map((event) => ({
        event,
        label: null,
      }));
      for (const event of answer.events) {
        events.push(event);
        after = event.seq;
      }
      for (const [label, id] of Object.entries(options.children?.(answer.operation) ?? {})) {
        const child = await client.request<{ events: EventRecord[] }>(
          'GET',
          `/api/v1/operations/${encodeURIComponent(id)}?after=${childAfter.get(id) ?? 0}`,
        );
        for (const event of child.events) {
          lines.push({ event, label });
          childAfter.set(id, event.seq);
        }
      }
      if (!options.quiet && lines.length > 0) {
        spinner?.clear();
        const width = Math.max(0, ...Object.keys(options.children?.(answer.operation) ?? {}).map((l) => l.length));
        lines.sort((a, b) => a.event.at - b.event.at || a.event.seq - b.event.seq);
        for (const { event, label } of lines)
          printEvent(event, started, options.children ? (label ?? '').padEnd(width) : undefined);
      }
      const op = answer.operation;
      if (op.outcome) return { operation: op, events, waitingForPromote: false, timedOut: false };
      if (op.phase === 'ready' || op.phase === 'paused')
        return { operation: op, events, waitingForPromote: true, timedOut: false };
      if (Date.now() >= deadline) return { operation: op, events, waitingForPromote: false, timedOut: true };
      spinner?.show(`${op.kind} ${op.phase}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    process.off('SIGINT', interrupted);
    spinner?.clear();
  }
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** One line redrawn in place (TTY only), erased before an event line is printed. */
class Spinner {
  private frame = 0;
  private shown = false;

  constructor(private readonly started: number) {}

  show(what: string): void {
    const elapsed = formatDuration(Date.now() - this.started);
    process.stdout.write(`\r\u001b[K${yellow(FRAMES[this.frame++ % FRAMES.length]!)} ${what} ${dim(elapsed)}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) process.stdout.write('\r\u001b[K');
    this.shown = false;
  }
}

/**
 * One event line, `[  1.2 s] ✓ message`: deploys and flag rollouts print the same way. With a prefix (a
 * service's name, or blanks for the wave's own lines) it stands between the time and the mark.
 */
export function printEvent(
  event: Pick<EventRecord, 'at' | 'type' | 'message'>,
  started: number,
  prefix?: string,
): void {
  const elapsed = dim(`[${formatDuration(Math.max(0, event.at - started)).padStart(7)}]`);
  const mark =
    event.type.endsWith('.failed') || event.type.endsWith('.aborted') || event.type === 'instance.unhealthy'
      ? red('✗')
      : event.type.endsWith('.succeeded') || event.type === 'traffic.switched' || event.type === 'release.healthy'
        ? green('✓')
        : event.type === 'health.skipped'
          ? yellow('!')
          : dim('·');
  const who = prefix === undefined ? '' : `${prefix} │ `;
  process.stdout.write(`${elapsed} ${who}${mark} ${event.message}\n`);
}
