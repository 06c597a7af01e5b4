import type { IncomingMessage, ServerResponse } from 'node:http';
import { CutoverError } from '../../core/errors.js';

/** Where an ACME server fetches an HTTP-01 key authorization: this path, then the token. */
export const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';
const ACME_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const ACME_KEY_AUTHORIZATION = /^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,128}$/;

/**
 * The HTTP-01 answers of the ACME orders under way: token → key
 * authorization. Throws CONFIG_INVALID when one is not what RFC 8555 makes:
 * neither is ever written into a path or a response unchecked.
 */
export function http01Answers(challenges: Readonly<Record<string, string>>): Map<string, string> {
  const answers = new Map<string, string>();
  for (const [token, keyAuthorization] of Object.entries(challenges)) {
    // RFC 8555 §8.3: a token is base64url; a key authorization is the token, a dot and a base64url thumbprint.
    if (!ACME_TOKEN.test(token) || !ACME_KEY_AUTHORIZATION.test(keyAuthorization))
      throw new CutoverError('CONFIG_INVALID', 'an HTTP-01 challenge is not a base64url token');
    answers.set(token, keyAuthorization);
  }
  return answers;
}

/** True when the request was an HTTP-01 validation of a token in `answers`, and was answered. */
export function answerHttp01(answers: ReadonlyMap<string, string>, req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url;
  if (url === undefined || !url.startsWith(ACME_CHALLENGE_PATH)) return false;
  const keyAuthorization = answers.get(url.slice(ACME_CHALLENGE_PATH.length));
  if (keyAuthorization === undefined) return false;
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(Buffer.byteLength(keyAuthorization)),
    'cache-control': 'no-store',
  });
  res.end(keyAuthorization);
  return true;
}
