import fs from 'node:fs';
import path from 'node:path';
import { readComposeFile } from '../../config/compose-file.js';
import { renderComposeImport } from '../../config/compose-render.js';
import { parseConfig } from '../../config/load-config.js';
import { redactUrl } from '../../config/redact.js';
import { isSecretName } from '../../config/secret-redactor.js';
import { mapCompose, type ComposeImport } from '../../core/compose-mapping.js';
import { withoutRefused, type RefusedValue } from '../../core/compose-refused.js';
import { CutoverError } from '../../core/errors.js';

export interface InitFromComposeOptions {
  from: string;
  dir: string;
  force: boolean;
  runtime: string;
  /** `--service web,api`: the Compose services to import (default: those that answer on a port). */
  service?: string;
}

/** Credentials in a query string, which a value under an innocent name may still carry. */
const SECRET_PARAMETER =
  /[?&;](password|passwd|pass|pwd|secret|token|access_token|api[_-]?key|apikey|key|sig|signature)=/i;

/**
 * Values that are credentials by their shape, whatever the variable is
 * called (`STRIPE_SK`, `GH_PAT`, `SLACK_WEBHOOK` pass the name rule): the
 * published formats secret scanners look for. A cutover.yaml is meant to be
 * committed, so one of these must not be copied into it.
 */
const CREDENTIAL_SHAPES: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./, // a JWT: base64url of '{"' twice
  /\b[rs]k_(live|test)_[A-Za-z0-9]{10,}/, // Stripe secret and restricted keys
  /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/, // GitHub tokens
  /\bglpat-[A-Za-z0-9_-]{20,}/, // GitLab personal access tokens
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/, // Slack tokens
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/, // AWS access key ids
  /\bAIza[0-9A-Za-z_-]{35}/, // Google API keys
  /\bnpm_[A-Za-z0-9]{36}\b/, // npm tokens
  /\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/, // SendGrid keys
  /\/\/hooks\.slack\.com\/services\/|\/\/(discord|discordapp)\.com\/api\/webhooks\//, // webhook URLs: the path is the token
];

/** Not copied into cutover.yaml: a secret-looking name (the redactor's rule), or a value with credentials in it. */
export function looksSecret(name: string, value: string): boolean {
  return (
    isSecretName(name) ||
    redactUrl(value) !== value ||
    SECRET_PARAMETER.test(value) ||
    CREDENTIAL_SHAPES.some((shape) => shape.test(value))
  );
}

/** `cutover init --from docker-compose.yml`: a commented cutover.yaml mapped from a Compose file. */
export function runInitFromCompose(options: InitFromComposeOptions): number {
  if (options.runtime !== 'docker' && options.runtime !== 'swarm')
    throw new CutoverError('BAD_REQUEST', `--runtime must be docker or swarm, got ${JSON.stringify(options.runtime)}`, {
      hint: 'Compose services are containers: --runtime docker (one machine) or swarm.',
    });
  const file = path.resolve(options.dir, 'cutover.yaml');
  if (fs.existsSync(file) && !options.force) {
    throw new CutoverError('INVALID_STATE', `${file} exists already`, { hint: 'Pass --force to overwrite it.' });
  }
  const source = path.resolve(options.from);
  const { compose } = readComposeFile(source);
  const services = Object.keys((compose.services as Record<string, unknown> | undefined) ?? {});
  const only =
    options.service === undefined
      ? null
      : options.service
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean);
  const unknown = (only ?? []).filter((name) => !services.includes(name));
  if (unknown.length > 0)
    throw new CutoverError('SERVICE_NOT_FOUND', `no service named ${unknown.join(', ')} in ${source}`, {
      hint: `Its services: ${services.join(', ') || 'none'}.`,
    });
  const composeDir = path.dirname(source);
  const outDir = path.dirname(file);
  const imported = mapCompose(compose, {
    runtime: options.runtime,
    only,
    isSecret: looksSecret,
    rebasePath: (written) => {
      const relative = path.relative(outDir, path.resolve(composeDir, written));
      return relative.startsWith('..') || path.isAbsolute(relative) ? relative : `./${relative}`;
    },
  });
  if (imported.services.length === 0)
    throw new CutoverError('COMPOSE_INVALID', `none of the services of ${source} answers on a port`, {
      hint: `Name the ones to import with --service (its services: ${services.join(', ') || 'none'}); the reasons are:\n${imported.notes.map((n) => `  ${n.path}: ${n.reason}`).join('\n')}`,
    });
  const { text, written } = loadableImport(imported, source, file);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(file, text);
  const names = [...new Set(written.references.map((r) => r.name))];
  process.stdout.write(
    `wrote ${file} from ${source}: ${written.services.map((s) => s.name).join(', ')}\n` +
      (written.notes.length > 0 ? `${written.notes.length} thing(s) not mapped: listed at its end, with why\n` : '') +
      (names.length > 0 ? `set in the server's environment: ${names.join(', ')}\n` : '') +
      `next: \`cutover doctor --config ${path.relative(process.cwd(), file) || 'cutover.yaml'}\`\n`,
  );
  return 0;
}

/**
 * The rendered cutover.yaml, once it loads: with every ${NAME} it references
 * set, as the server's environment will have them. A value the Compose spec
 * allows and cutover refuses is left out with a note (compose-refused.ts);
 * anything else that does not load is a bug in the mapping.
 */
function loadableImport(
  imported: ComposeImport,
  source: string,
  file: string,
): { text: string; written: ComposeImport } {
  const env = Object.fromEntries(imported.references.map((r) => [r.name, 'set-at-deploy']));
  let written = imported;
  // Leaving a key out cannot make another refused, but a second pass costs little and proves it.
  for (let pass = 0; ; pass++) {
    const text = renderComposeImport(written, path.relative(process.cwd(), source) || source);
    let failure: unknown;
    try {
      parseConfig(text, file, { env });
      return { text, written };
    } catch (error) {
      failure = error;
    }
    const issues =
      failure instanceof CutoverError && failure.code === 'CONFIG_INVALID' && Array.isArray(failure.details)
        ? (failure.details as RefusedValue[])
        : null;
    const next = pass < 2 && issues !== null ? withoutRefused(written, issues) : null;
    if (next === null)
      throw new CutoverError(
        'INTERNAL',
        `the cutover.yaml made from ${source} does not load: ${(failure as Error).message}`,
        { details: { text } },
      );
    written = next;
  }
}
