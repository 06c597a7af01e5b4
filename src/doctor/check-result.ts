/** One finding of `cutover doctor`, shared by the checks (doctor-checks.ts, nginx-check.ts) and the command that prints them. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable id for scripts: config, state-dir, runtime.process.web, runtime.docker, router.proxy, server, database.web ... */
  id: string;
  status: CheckStatus;
  message: string;
  /** What to do about a warn or fail. */
  fix?: string;
  /** How many problems a failed check lists (a config with 3 wrong fields is 3 problems); 1 when absent. */
  problems?: number;
}
