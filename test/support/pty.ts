import { spawn } from 'node:child_process';

/**
 * Runs a command under a real pseudo-terminal, so a test sees what a user at a terminal sees: `isTTY` is true,
 * Ctrl-C (`\x03` written to the terminal) becomes SIGINT for the foreground process through the line discipline,
 * and stdout and stderr arrive merged on the one screen. Node has no pty of its own and node-pty is a native
 * module we do not depend on, so a few lines of Python (installed on every machine the tests run on) hold the
 * master side: bytes from our pipe go to the terminal, the terminal's output comes back on python's stdout, and
 * when the command ends python writes its status as one JSON line on its own stderr (which the command never sees).
 */
const RELAY = `
import errno, fcntl, json, os, pty, select, signal, struct, sys, termios
cols, rows = int(sys.argv[1]), int(sys.argv[2])
pid, master = pty.fork()
if pid == 0:
    os.execvp(sys.argv[3], sys.argv[3:])
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
def forward(signum, frame):
    try: os.kill(pid, signum)
    except ProcessLookupError: pass
signal.signal(signal.SIGTERM, forward)
stdin_open, master_open, status = True, True, None
def drain(timeout):
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready: return True
        try: data = os.read(master, 65536)
        except OSError as e:
            if e.errno == errno.EIO: return False
            raise
        if not data: return False
        os.write(1, data)
while status is None:
    watched = ([master] if master_open else []) + ([0] if stdin_open else [])
    try: ready, _, _ = select.select(watched, [], [], 0.05)
    except InterruptedError: ready = []
    if 0 in ready:
        data = os.read(0, 65536)
        if data: os.write(master, data)
        else: stdin_open = False
    if master in ready:
        master_open = drain(0)
    done, raw = os.waitpid(pid, os.WNOHANG)
    if done: status = raw
# What the command wrote just before it ended is still in the terminal; a grandchild holding the terminal open
# must not keep us here, hence the short wait rather than reading until EOF.
if master_open: drain(0.2)
code = os.waitstatus_to_exitcode(status)
sys.stderr.write(json.dumps({'code': code if code >= 0 else None, 'signal': -code if code < 0 else None}) + '\\n')
`;

export interface PtyExit {
  /** The exit code, or null when a signal ended the command. */
  code: number | null;
  /** The signal's name (SIGINT...) when a signal ended the command. */
  signal: NodeJS.Signals | null;
  /** Everything the terminal showed, with the terminal's CRLF turned back into LF. */
  output: string;
}

export interface PtySession {
  /** Types bytes at the terminal: `'\x03'` is Ctrl-C, `'\x04'` Ctrl-D, `'y\r'` an answer and Enter. */
  write(bytes: string): void;
  /** What the terminal showed so far (CRLF as LF). */
  output(): string;
  /** Resolves with the output once it matches, fails after `timeoutMs` naming the pattern and what was shown. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Resolves once the command ended. */
  readonly exited: Promise<PtyExit>;
  /** SIGTERM to the command (forwarded by the relay), then SIGKILL to the relay if it lingers. */
  kill(): void;
}

export interface PtyOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  cols?: number;
  rows?: number;
}

const SIGNAL_NAMES: Record<number, NodeJS.Signals> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  9: 'SIGKILL',
  13: 'SIGPIPE',
  15: 'SIGTERM',
};

/** Starts `command args` on a new terminal (its own session; the terminal is its controlling terminal). */
export function spawnPty(command: string, args: string[], options: PtyOptions = {}): PtySession {
  const relay = spawn(
    'python3',
    ['-c', RELAY, String(options.cols ?? 100), String(options.rows ?? 30), command, ...args],
    { cwd: options.cwd, env: { TERM: 'xterm', ...(options.env ?? process.env) }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let raw = '';
  let status = '';
  const listeners = new Set<() => void>();
  relay.stdout.on('data', (d: Buffer) => {
    raw += d.toString('utf8');
    for (const listener of listeners) listener();
  });
  relay.stderr.on('data', (d: Buffer) => {
    status += d.toString('utf8');
  });
  const text = (): string => raw.replace(/\r\n/g, '\n');
  const exited = new Promise<PtyExit>((resolve, reject) => {
    relay.on('error', reject);
    relay.on('close', () => {
      for (const listener of listeners) listener();
      const last = status.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(last) as { code: number | null; signal: number | null };
        const signal =
          parsed.signal === null ? null : (SIGNAL_NAMES[parsed.signal] ?? (`SIG${parsed.signal}` as NodeJS.Signals));
        resolve({ code: parsed.code, signal, output: text() });
      } catch {
        reject(new Error(`the pty relay failed:\n${status}\noutput:\n${text()}`));
      }
    });
  });
  // A test that never awaits `exited` (it failed earlier) must not turn a relay failure into an unhandled rejection.
  exited.catch(() => undefined);
  let ended = false;
  relay.on('close', () => {
    ended = true;
  });

  return {
    write(bytes) {
      relay.stdin.write(bytes);
    },
    output: text,
    waitFor(pattern, timeoutMs = 10_000) {
      const matches = (): boolean => (typeof pattern === 'string' ? text().includes(pattern) : pattern.test(text()));
      if (matches()) return Promise.resolve(text());
      return new Promise((resolve, reject) => {
        const done = (error?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(text());
        };
        const check = (): void => {
          if (matches()) done();
          else if (ended)
            done(new Error(`the command ended before the terminal showed ${String(pattern)}:\n${text()}`));
        };
        const timer = setTimeout(
          () => done(new Error(`not within ${timeoutMs} ms: the terminal showing ${String(pattern)}:\n${text()}`)),
          timeoutMs,
        );
        listeners.add(check);
      });
    },
    exited,
    kill() {
      if (ended) return;
      relay.kill('SIGTERM');
      setTimeout(() => {
        if (!ended) relay.kill('SIGKILL');
      }, 2000).unref();
    },
  };
}

/** Runs a command to its end on a terminal, with nothing typed; fails after `timeoutMs`. */
export async function runInPty(
  command: string,
  args: string[],
  options: PtyOptions & { timeoutMs?: number } = {},
): Promise<PtyExit> {
  const session = spawnPty(command, args, options);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      session.kill();
      reject(
        new Error(
          `${command} ${args.join(' ')} did not end on the terminal within ${options.timeoutMs ?? 30_000} ms:\n${session.output()}`,
        ),
      );
    }, options.timeoutMs ?? 30_000);
  });
  try {
    return await Promise.race([session.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
