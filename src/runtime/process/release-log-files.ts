import fs from 'node:fs';
import path from 'node:path';

/** The log files of one release (one per instance), as the process runtime lays them out in log-files.ts. */
export function releaseLogFiles(logDir: string, service: string, releaseId: string): { name: string; path: string }[] {
  const dir = path.join(logDir, service, releaseId);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.log'))
    .sort()
    .map((n) => ({ name: n.slice(0, -'.log'.length), path: path.join(dir, n) }));
}
