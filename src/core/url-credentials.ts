/**
 * A URL with its credentials taken out, and those credentials as a Basic
 * `authorization` header value (null when the URL has none).
 * `https://user:pass@host` is how curl, Grafana and Prometheus' own clients
 * are told a basic-auth password, so users write it so in a metric
 * provider's or a notification target's URL; undici drops a URL's user info
 * without a word, which sent every request unauthenticated.
 */
export function splitCredentials(url: string): { url: string; authorization: string | null } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, authorization: null };
  }
  if (parsed.username === '' && parsed.password === '') return { url, authorization: null };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
