import { createHash } from 'node:crypto';

/** The digest of a config file's text: the server and the CLI compare it to tell an edited file. */
export function sha256Of(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** On every admin API answer: the digest of the file the server runs, so any CLI command can notice an edited file. */
export const CONFIG_DIGEST_HEADER = 'x-cutover-config-sha256';
