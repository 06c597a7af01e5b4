import type { AdminClient } from '../admin-client.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

/** `cutover logs`: the server's stream as it comes; with --json, JSON lines (one object per log line). */
export async function runLogs(
  client: AdminClient,
  service: string,
  options: { release?: string; follow: boolean; lines: number; json?: boolean },
): Promise<ExitCode> {
  const query = new URLSearchParams({ lines: String(options.lines), follow: String(options.follow) });
  if (options.release) query.set('release', options.release);
  if (options.json) query.set('format', 'json');
  const response = await client.stream(`/api/v1/services/${encodeURIComponent(service)}/logs?${query}`);
  if (!response.body) return EXIT.OK;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
  return EXIT.OK;
}
