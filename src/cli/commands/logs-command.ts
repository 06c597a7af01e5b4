import type { AdminClient } from '../admin-client.js';

export async function runLogs(client: AdminClient, service: string, options: { release?: string; follow: boolean; lines: number }): Promise<number> {
  const query = new URLSearchParams({ lines: String(options.lines), follow: String(options.follow) });
  if (options.release) query.set('release', options.release);
  const response = await client.stream(`/api/v1/services/${encodeURIComponent(service)}/logs?${query}`);
  if (!response.body) return 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
  return 0;
}
