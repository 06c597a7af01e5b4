import { execFile } from 'node:child_process';
import { childEnvironment } from '../runtime/child-environment.js';

export interface GitInfo {
  commit: string | null;
  branch: string | null;
}

/** Commit and branch of the directory a release is built from, when it is a git work tree. */
export async function gitInfo(cwd: string): Promise<GitInfo> {
  const run = (args: string[]): Promise<string | null> =>
    new Promise((resolve) => {
      execFile('git', args, { cwd, timeout: 2000, env: childEnvironment() }, (error, stdout) =>
        resolve(error ? null : stdout.trim() || null),
      );
    });
  const [commit, branch] = await Promise.all([run(['rev-parse', 'HEAD']), run(['rev-parse', '--abbrev-ref', 'HEAD'])]);
  return { commit, branch };
}
