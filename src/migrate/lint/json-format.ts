import type { LintRun } from './lint-files.js';

/** The stable JSON form (`version` changes only with an incompatible change of shape). */
export function formatJson(run: LintRun): string {
  const report = {
    version: 1,
    summary: run.summary,
    files: run.files.map((result) => ({
      file: result.file,
      phase: result.phase.phase,
      phaseSource: result.phase.source,
      transaction: result.transaction === undefined ? null : result.transaction.wrapped ? 'single' : 'per-statement',
    })),
    findings: run.findings,
    ...(run.catalog ? { catalog: run.catalog } : {}),
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}
