import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

/**
 * Which modules a process loads: run it as `node --import <this file>` with
 * MODULE_TRACE_FILE set, and every module the ES loader loads (our files,
 * and each npm package's entry) is appended to that file, one URL a line.
 * The same file is the registrar (main thread) and the hooks (the loader's
 * thread, where isMainThread is false), so no second file is needed.
 */
let traceFile: string | undefined;

export function initialize(data: { file: string }): void {
  traceFile = data.file;
}

export async function load(
  url: string,
  context: unknown,
  nextLoad: (url: string, context: unknown) => Promise<unknown>,
): Promise<unknown> {
  if (traceFile) appendFileSync(traceFile, `${url}\n`);
  return nextLoad(url, context);
}

if (isMainThread && process.env.MODULE_TRACE_FILE)
  register(import.meta.url, { data: { file: process.env.MODULE_TRACE_FILE } });
