import { composeString } from './compose-values.js';
import type { ImportNote, ServiceContext } from './compose-import-types.js';
import { asMap, isMap, shown, type Map } from './compose-import-types.js';

/** A service's environment and env_file as cutover's env and env_file: secrets become ${NAME} references. */

/**
 * The values cutover fills for each instance itself (config/env-substitution's
 * RUNTIME_VARIABLES; core imports nothing outside itself). Compose took them
 * from the shell; in cutover.yaml they stay placeholders, so they are no
 * reference the server's environment must set.
 */
export const FILLED_BY_CUTOVER: readonly string[] = ['VERSION', 'PORT', 'SLOT', 'INSTANCE', 'HOST'];

export function composeText(text: string, path: string, ctx: ServiceContext): string {
  const converted = composeString(text);
  for (const form of converted.approximated)
    ctx.notes.push({
      path,
      reason: `${form}: cutover reads \${NAME} and \${NAME:-default} only; written as a plain reference`,
    });
  // A `${NAME}` with no default makes cutover.yaml fail to load until the server's environment sets NAME: list it
  // with the other references, so the header names it and init's own load check sets it.
  for (const name of converted.variables)
    if (!FILLED_BY_CUTOVER.includes(name)) ctx.references.push({ name, service: ctx.service, secret: false });
  return converted.text;
}

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function mapEnvironment(
  from: string,
  service: Map,
  ctx: ServiceContext,
): { values: Record<string, string>; hosts: string[]; setsPort: boolean; comment: string | undefined } {
  const at = `services.${from}.environment`;
  const pairs: [string, unknown][] = Array.isArray(service.environment)
    ? service.environment.map((item) => {
        const text = shown(item);
        const eq = text.indexOf('=');
        return eq === -1 ? [text, null] : [text.slice(0, eq), text.slice(eq + 1)];
      })
    : Object.entries(asMap(service.environment));
  const values: Record<string, string> = {};
  const hosts: string[] = [];
  let setsPort = false;
  let referenced = 0;
  for (const [name, raw] of pairs) {
    if (!ENV_NAME.test(name)) {
      ctx.notes.push({
        path: `${at}.${name}`,
        reason: 'not an environment variable name cutover accepts (letters, digits and _)',
      });
      continue;
    }
    if (name === 'PORT') {
      setsPort = true;
      ctx.notes.push({ path: `${at}.PORT`, reason: 'cutover sets PORT for each instance (the app must listen on it)' });
      continue;
    }
    if (name === 'VIRTUAL_HOST' && typeof raw === 'string') hosts.push(...raw.split(','));
    if (raw === null || raw === undefined) {
      // Compose takes a bare name from the shell that runs it: cutover from the server's environment.
      values[name] = `\${${name}}`;
      ctx.references.push({ name, service: from, secret: false });
      referenced++;
      continue;
    }
    const text = shown(raw);
    if (ctx.options.isSecret(name, text) && !/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(text)) {
      values[name] = `\${${name}}`;
      ctx.references.push({ name, service: from, secret: true });
      if (!ctx.options.isSecret(name, '')) ctx.secrets.add(name);
      referenced++;
      continue;
    }
    values[name] = composeText(text, `${at}.${name}`, ctx);
  }
  const comment =
    referenced > 0
      ? 'secret-looking values and names without a value are ${NAME} references: set them in the environment of `cutover server`'
      : undefined;
  return { values, hosts, setsPort, comment };
}

export function envFilesOf(value: unknown, at: string, notes: ImportNote[]): string[] {
  const items = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const files: string[] = [];
  items.forEach((item, index) => {
    if (typeof item === 'string') files.push(item);
    else if (isMap(item) && typeof item.path === 'string') {
      files.push(item.path);
      if (item.required === false)
        notes.push({
          path: `${at}.env_file.${index}.required`,
          reason: 'cutover refuses a deploy whose env file is missing (there is no optional env file)',
        });
      if (item.format !== undefined && item.format !== 'dotenv')
        notes.push({
          path: `${at}.env_file.${index}.format`,
          reason: `format ${shown(item.format)}: cutover reads dotenv files`,
        });
    }
  });
  return files;
}
