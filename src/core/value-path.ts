/**
 * A path into a document as people read it: `services.web.hosts[0]`,
 * `rules[0].constraints[1].value`, `env["MY.KEY"]`. Shared by the config
 * checks and the flag schema (which ships in the SDK, so this file has no
 * dependencies).
 */
export type ValuePath = readonly (string | number)[];

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

export function formatPath(path: ValuePath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}
