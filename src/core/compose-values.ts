/**
 * The single values of a Compose file as cutover.yaml writes them: strings
 * with Compose's interpolation, Go durations, image references, host rules.
 * Pure: compose-mapping.ts calls these for each service.
 */

/**
 * A Compose string in cutover's `${...}` grammar. Compose interpolates
 * `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}` and
 * `$NAME`, and writes a literal `$` as `$$`. cutover fills `${NAME}` and
 * `${NAME:-default}` at load and writes a literal `${` as `$${`. Forms it
 * has no equivalent for keep the variable and are named in `approximated`.
 */
export function composeString(text: string): { text: string; approximated: string[]; variables: string[] } {
  const approximated: string[] = [];
  // Names written as a plain `${NAME}`: cutover's load refuses the file unless the server's environment sets them.
  const variables: string[] = [];
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char !== '$') {
      out += char;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      // A literal dollar: only before `{` does cutover need its own escape.
      out += text[i + 2] === '{' ? '$$' : '$';
      i++;
      continue;
    }
    if (next === '{') {
      const end = text.indexOf('}', i + 2);
      if (end === -1) {
        out += text.slice(i);
        break;
      }
      const inner = text.slice(i + 2, end);
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(inner);
      if (!match) {
        // Not a reference Compose would accept either (it validated the file): kept literal.
        out += `$\${${inner}}`;
      } else {
        const [, name = '', operator, rest = ''] = match;
        if (operator === ':-' || operator === '-') out += `\${${name}:-${rest}}`;
        else {
          if (operator !== undefined) approximated.push(`\${${inner}}`);
          out += `\${${name}}`;
          variables.push(name);
        }
      }
      i = end;
      continue;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (bare) {
      out += `\${${bare[0]}}`;
      variables.push(bare[0]);
      i += bare[0].length;
      continue;
    }
    out += '$';
  }
  return { text: out, approximated, variables };
}

/**
 * A Compose count or ratio. The spec lets each be a string as well, quoted
 * (`"4"`) or interpolated (`replicas: ${WEB_REPLICAS:-3}`). A numeric string
 * is its number; a reference with a numeric default is that default, named
 * in `defaultOf` (cutover.yaml needs a number there, not a reference);
 * anything else is null.
 */
export function composeNumber(value: unknown): { value: number; defaultOf: string | null } | null {
  if (typeof value === 'number') return Number.isFinite(value) ? { value, defaultOf: null } : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return { value: Number(text), defaultOf: null };
  const reference = /^\$\{([A-Za-z_][A-Za-z0-9_]*):?-(\d+(?:\.\d+)?)\}$/.exec(text);
  return reference ? { value: Number(reference[2]), defaultOf: reference[1] as string } : null;
}

const GO_DURATION = /^(?:(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns))+$/;
const GO_UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000001,
};

/** A Compose duration (Go's `1m30s`, `500ms`, `2h`) in cutover's notation, or null if it is none. */
export function composeDuration(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return `${value}s`;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (!GO_DURATION.test(text)) return null;
  // cutover reads h, m, s and ms (also combined); anything finer is rounded to milliseconds.
  if (/^(?:\d+(?:\.\d+)?(?:h|m|s|ms))+$/.test(text)) return text;
  let ms = 0;
  for (const [, amount = '0', unit = 's'] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g))
    ms += Number(amount) * (GO_UNIT_MS[unit] ?? 0);
  return `${Math.max(1, Math.round(ms))}ms`;
}

/** True for a duration composeDuration wrote that is no time at all (`0s`, `0m0s`): its units hold no digit. */
export function isZeroDuration(duration: string): boolean {
  return !/[1-9]/.test(duration);
}

/**
 * The image without its tag or digest, with `${VERSION}` as the tag: the
 * version a deploy is given picks the image. `localhost:5000/shop/web:1.4`
 * keeps its registry port; `web@sha256:...` loses the digest. The `:`, `/`
 * and `@` inside a Compose reference (`${REGISTRY:-r.io:5000/acme}/web:${TAG:-1}`)
 * are not the image's own: they are looked for outside `${...}` only.
 */
export function imageWithVersionTag(image: string): { image: string; tag: string | null } {
  // Same length as the image, with each reference's text blanked, so an index found here is one in the image.
  const outside = image.replace(/\$\{[^{}]*\}/g, (reference) => '_'.repeat(reference.length));
  const at = outside.indexOf('@');
  const withoutDigest = at === -1 ? image : image.slice(0, at);
  const masked = at === -1 ? outside : outside.slice(0, at);
  const slash = masked.lastIndexOf('/');
  const colon = masked.lastIndexOf(':');
  const hasTag = colon > slash;
  const repository = hasTag ? withoutDigest.slice(0, colon) : withoutDigest;
  // A digest is no tag: the version given to a deploy becomes the tag.
  const tag = hasTag ? withoutDigest.slice(colon + 1) : null;
  return { image: `${repository}:\${VERSION}`, tag };
}

/** Host names a service answers to, from a Traefik `Host(...)` rule or nginx-proxy's VIRTUAL_HOST. */
export function hostsFromRule(rule: string): string[] {
  const hosts: string[] = [];
  for (const call of rule.matchAll(/Host\s*\(([^)]*)\)/g))
    for (const quoted of (call[1] ?? '').matchAll(/[`'"]([^`'"]+)[`'"]/g)) hosts.push(quoted[1] as string);
  return hosts;
}

/** A DNS name cutover can route by (lowercased); null for anything else (wildcards, ports, garbage). */
export function routableHost(text: string): string | null {
  const host = text.trim().toLowerCase();
  if (host.length === 0 || host.length > 253) return null;
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  return host.split('.').every((part) => label.test(part)) ? host : null;
}

/** cutover's service names: lowercase letters, digits and inner hyphens, at most 63 characters. */
export function serviceNameFor(composeName: string): string {
  const name = composeName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name === '' ? 'service' : name;
}
