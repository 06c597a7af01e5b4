import { printJson } from './output.js';

/**
 * `cutover --version` / `-V`, handled before commander parses: commander's own version option is a global one, and
 * a global `--version` would take `cutover deploy web --version v2` for itself. So only a flag before the command's
 * name asks for the version.
 */
export function versionRequested(args: string[]): boolean {
  for (const arg of args) {
    if (arg === '--version' || arg === '-V') return true;
    if (!arg.startsWith('-')) return false;
  }
  return false;
}

export async function printVersion(json: boolean): Promise<void> {
  // Loaded here: finding the commit may need git (child_process), which no other command run from main() needs.
  const { buildInfo, formatBuildInfo } = await import('./build-info.js');
  const info = buildInfo();
  if (json) printJson(info);
  else process.stdout.write(`${formatBuildInfo(info)}\n`);
}

export const VERSION_HELP =
  '\nOptions handled before any command:\n  -V, --version  print the version and the git commit this build came from';
