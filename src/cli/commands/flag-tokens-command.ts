import type { Command } from 'commander';
import type { AdminClient } from '../admin-client.js';
import { formatTime, printJson } from '../output.js';
import { currentActor } from './operation-commands.js';

/**
 * `cutover flags tokens create|list|revoke`: client-side tokens, for browsers
 * and apps evaluating flags over OFREP (docs/flags.md). A token evaluates the
 * flags of one environment marked `clientVisible`, and nothing else; it is
 * printed once, when created (the server keeps only its hash).
 */
interface TokenInfo {
  id: string;
  name: string;
  environment: string;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}

const TOKENS_PATH = '/api/v1/flag-client-tokens';

export function registerFlagTokensCommand(
  flags: Command,
  context: { client: () => Promise<AdminClient>; json: () => boolean },
  exit: (code: number) => void,
): void {
  const tokens = flags
    .command('tokens')
    .description('client-side tokens: browsers and apps evaluate client-visible flags over OFREP with them');

  tokens
    .command('create <name>')
    .description('make a token for one environment; it is shown once')
    .option('--env <environment>', "the flag environment it evaluates (default: the server's first)")
    .action(async (name: string, o: { env?: string }) => {
      const client = await context.client();
      const created = await client.request<TokenInfo & { token: string }>('POST', TOKENS_PATH, {
        name,
        actor: currentActor(),
        ...(o.env === undefined ? {} : { environment: o.env }),
      });
      if (context.json()) printJson(created);
      else
        process.stdout.write(
          `${created.token}\n` +
            `client-side token ${created.id} "${created.name}" for ${created.environment}: shown this once, keep it.\n` +
            `It evaluates only flags with clientVisible: true, at POST /ofrep/v1/evaluate/flags.\n`,
        );
      exit(0);
    });

  tokens
    .command('list')
    .description('every client-side token: id, name, environment, created, revoked')
    .action(async () => {
      const client = await context.client();
      const answer = await client.request<{ tokens: TokenInfo[] }>('GET', TOKENS_PATH);
      if (context.json()) printJson(answer);
      else process.stdout.write(renderTokens(answer.tokens));
      exit(0);
    });

  tokens
    .command('revoke <id>')
    .description('the token stops working at once (its next request answers 401)')
    .action(async (id: string) => {
      const client = await context.client();
      const answer = await client.request<{ token: TokenInfo }>('DELETE', `${TOKENS_PATH}/${encodeURIComponent(id)}`);
      if (context.json()) printJson(answer);
      else process.stdout.write(`revoked ${answer.token.id} "${answer.token.name}" (${answer.token.environment})\n`);
      exit(0);
    });
}

function renderTokens(tokens: TokenInfo[]): string {
  if (tokens.length === 0) return 'no client-side tokens (create one with `cutover flags tokens create <name>`)\n';
  const rows = tokens.map((t) => [
    t.id,
    t.name,
    t.environment,
    `${formatTime(t.createdAt)} by ${t.createdBy}`,
    t.revokedAt === null ? 'active' : `revoked ${formatTime(t.revokedAt)}`,
  ]);
  const header = ['ID', 'NAME', 'ENVIRONMENT', 'CREATED', 'STATE'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return (
    [header, ...rows]
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
