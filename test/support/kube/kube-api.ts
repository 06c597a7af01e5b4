import https from 'node:https';

/**
 * Plain HTTPS to the test cluster's API server (its CA, the admin's bearer
 * token): enough for the cluster's own start-up checks and its smoke test,
 * with no client library. Every request has a timeout and a cap on the
 * body it reads.
 */
export interface KubeApiResponse {
  status: number;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON (pod logs are plain text). */
  json: unknown;
}

export interface KubeApiTarget {
  server: string;
  token: string;
  caPem: string;
}

const TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export function kubeApi(
  target: KubeApiTarget,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<KubeApiResponse> {
  const url = new URL(path, target.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method,
        ca: target.caPem,
        timeout: TIMEOUT_MS,
        headers: {
          authorization: `Bearer ${target.token}`,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': payload.length }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            request.destroy(new Error(`${method} ${path}: response larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, body: text, json });
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${method} ${path}: no answer within ${TIMEOUT_MS} ms`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/** Like kubeApi, but a status outside 2xx is an error that quotes the API's answer. */
export async function kubeApiOk(
  target: KubeApiTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<KubeApiResponse> {
  const response = await kubeApi(target, method, path, body);
  if (response.status < 200 || response.status > 299)
    throw new Error(`${method} ${path} answered ${response.status}: ${response.body.slice(0, 2000)}`);
  return response;
}
