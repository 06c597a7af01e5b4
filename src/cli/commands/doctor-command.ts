import { runDoctor, type CheckResult } from '../../doctor/doctor-checks.js';
import { dim, green, printJson, red, yellow } from '../output.js';

/** `cutover doctor`: every check with ✓ / ! / ✗ and the fix; exit 1 when one failed. */
export async function runDoctorCommand(configFile: string, json: boolean): Promise<number> {
  const results = await runDoctor({ configFile, env: process.env });
  const failed = results.some((r) => r.status === 'fail');
  if (json) {
    printJson({ ok: !failed, checks: results });
    return failed ? 1 : 0;
  }
  for (const result of results) process.stdout.write(`${line(result)}\n`);
  const warnings = results.filter((r) => r.status === 'warn').length;
  const failures = results.filter((r) => r.status === 'fail').reduce((sum, r) => sum + (r.problems ?? 1), 0);
  process.stdout.write(
    failed
      ? `\n${red(`${failures} problem${failures > 1 ? 's' : ''}`)}${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''}\n`
      : `\n${green('all good')}${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''}\n`,
  );
  return failed ? 1 : 0;
}

function line(result: CheckResult): string {
  const mark = result.status === 'ok' ? green('✓') : result.status === 'warn' ? yellow('!') : red('✗');
  const fix = result.fix && result.status !== 'ok' ? `\n    ${dim('fix:')} ${result.fix}` : '';
  return `${mark} ${result.id.padEnd(22)} ${result.message}${fix}`;
}
