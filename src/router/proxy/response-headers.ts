import { connectionListedHeaders, headerNameIs, isHopByHopHeaderBytes, removeHeaders } from './hop-by-hop-headers.js';

/**
 * The upstream's raw response headers (undici hands them over as latin1
 * byte buffers) as a flat [name, value, ...] list for `res.writeHead`, minus
 * hop-by-hop headers: Node writes its own Connection/Keep-Alive for the
 * client connection and chooses chunking itself when there is no
 * Content-Length. latin1 keeps non-ASCII bytes in values unchanged, and Node
 * writes header strings back as latin1.
 */
export function clientResponseHeaders(raw: readonly Buffer[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as Buffer;
    if (isHopByHopHeaderBytes(name)) {
      if (name.length === 10) {
        const nameText = name.toString('latin1');
        if (headerNameIs(nameText, 'connection')) connection = (raw[i + 1] as Buffer).toString('latin1');
      }
      continue;
    }
    out.push(name.toString('latin1'), (raw[i + 1] as Buffer).toString('latin1'));
  }
  if (connection !== undefined) {
    const listed = connectionListedHeaders(connection);
    if (listed !== null) removeHeaders(out, listed);
  }
  return out;
}
