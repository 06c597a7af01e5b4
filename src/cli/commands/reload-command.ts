import { describeChanges, type ConfigChanges } from '../../config/config-changes.js';
import type { AdminClient } from '../admin-client.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { bold, printJson, yellow } from '../output.js';
import { currentActor } from './operation-commands.js';

/**
 * `cutover reload`: the server reads its cutover.yaml again. A file with any
 * error is refused whole (the error names the fields; nothing changes), the
 * way `nginx -s reload` keeps the old config when the new one fails `-t`.
 */
export async function runReload(client: AdminClient, json: boolean): Promise<ExitCode> {
  const answer = await client.request<{
    file: string;
    sha256: string;
    changes: ConfigChanges;
    certificates?: string[];
  }>('POST', '/api/v1/config/reload', { actor: currentActor() });
  if (json) {
    printJson(answer);
    return EXIT.OK;
  }
  process.stdout.write(`${bold('reloaded')} ${answer.file}\n`);
  for (const line of describeChanges(answer.changes))
    process.stdout.write(`  ${line.startsWith('needs a restart') ? yellow(line) : line}\n`);
  for (const service of answer.certificates ?? [])
    process.stdout.write(
      `  certificate of ${service} swapped: new HTTPS handshakes get it, open connections keep theirs\n`,
    );
  return EXIT.OK;
}
