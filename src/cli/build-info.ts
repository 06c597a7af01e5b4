import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What `cutover --version` prints: the package's version and the git commit the build came from. An installed
 * tarball has no .git, so the commit is recorded in dist/src/build-info.json when the package is built or packed
 * (scripts/write-build-info.mjs, run by `npm run build` and `prepack`); a checkout without that file asks git;
 * anything else says "unknown" rather than guess.
 */
export interface BuildInfo {
  version: string;
  /** A short commit id, `-dirty` when tracked files differed from it, or `unknown`. */
  commit: string;
}

/** The package root: this file is dist/src/cli/build-info.js in a build and in the installed package. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD_INFO_FILE = fileURLToPath(new URL('../build-info.json', import.meta.url));

export function buildInfo(): BuildInfo {
  const manifest = JSON.parse(fs.readFileSync(`${PACKAGE_ROOT}package.json`, 'utf8')) as { version: string };
  return { version: manifest.version, commit: recordedCommit() ?? commitFromGit() ?? 'unknown' };
}

function recordedCommit(): string | null {
  try {
    const recorded = JSON.parse(fs.readFileSync(BUILD_INFO_FILE, 'utf8')) as { commit?: unknown };
    return typeof recorded.commit === 'string' && recorded.commit !== '' ? recorded.commit : null;
  } catch {
    return null;
  }
}

/**
 * The commit of the checkout this package sits in. Only when the package root itself is the checkout: an installed
 * package under someone's home directory kept in git must not report that repository's commit.
 */
export function commitFromGit(): string | null {
  if (!fs.existsSync(`${PACKAGE_ROOT}.git`)) return null;
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', PACKAGE_ROOT, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
  try {
    const commit = git('rev-parse', '--short=12', 'HEAD').trim();
    if (!/^[0-9a-f]{7,40}$/.test(commit)) return null;
    const dirty = git('status', '--porcelain', '--untracked-files=no').trim() !== '';
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return null;
  }
}

/** Records the checkout's commit for the build (what the build and prepack steps run); returns what was written. */
export function writeBuildInfo(): BuildInfo {
  const commit = commitFromGit() ?? 'unknown';
  fs.writeFileSync(BUILD_INFO_FILE, `${JSON.stringify({ commit }, null, 2)}\n`);
  return { ...buildInfo(), commit };
}

export function formatBuildInfo(info: BuildInfo): string {
  return `cutover ${info.version} (commit ${info.commit})`;
}
