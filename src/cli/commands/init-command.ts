import fs from 'node:fs';
import path from 'node:path';
import { STARTER_CONFIG } from '../../config/starter-config.js';
import { CutoverError } from '../../core/errors.js';

/** `cutover init`: writes the commented starter cutover.yaml; never overwrites without --force. */
export function runInit(options: { dir: string; force: boolean }): number {
  const file = path.resolve(options.dir, 'cutover.yaml');
  if (fs.existsSync(file) && !options.force) {
    throw new CutoverError('INVALID_STATE', `${file} exists already`, { hint: 'Pass --force to overwrite it.' });
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, STARTER_CONFIG);
  process.stdout.write(
    `wrote ${file}\nnext: edit it, then run \`cutover server --config ${path.relative(process.cwd(), file) || 'cutover.yaml'}\`\n`,
  );
  return 0;
}
