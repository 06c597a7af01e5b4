import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LintRun } from './lint-files.js';
import { ALL_RULES } from './rules/rule-catalogue.js';

/**
 * SARIF 2.1.0 (OASIS), the format GitHub code scanning and most CI
 * dashboards read. Every rule is listed in tool.driver.rules with its help
 * text, so a viewer can explain a finding without cutover; results point at
 * the statement with 1-based lines and code-point columns.
 */
const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

export function formatSarif(run: LintRun): string {
  const ruleIndex = new Map(ALL_RULES.map((rule, index) => [rule.id, index]));
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'cutover migrate lint',
            rules: ALL_RULES.map((rule) => ({
              id: rule.id,
              name: pascalCase(rule.id),
              shortDescription: { text: rule.summary },
              fullDescription: { text: rule.why },
              help: {
                text: `${rule.why}\n\nLock: ${rule.lock}\n\nSafe alternative: ${rule.safePattern}`,
                markdown: `${rule.why}\n\n**Lock:** ${rule.lock}\n\n**Safe alternative:** ${rule.safePattern.replace(/\n {2}/g, '\n    ')}`,
              },
              defaultConfiguration: { level: rule.severity },
            })),
          },
        },
        columnKind: 'unicodeCodePoints',
        originalUriBaseIds: { SRCROOT: { uri: `${pathToFileURL(run.cwd).href.replace(/\/$/, '')}/` } },
        results: run.findings.map((finding) => ({
          ruleId: finding.ruleId,
          ruleIndex: ruleIndex.get(finding.ruleId) ?? -1,
          level: finding.severity,
          message: { text: `${finding.message}\nSafe alternative:\n${finding.safeAlternative}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: relativeUri(finding.file), uriBaseId: 'SRCROOT' },
                region: {
                  startLine: finding.line,
                  startColumn: finding.column,
                  endLine: finding.endLine,
                  endColumn: finding.endColumn,
                  snippet: { text: finding.statement },
                },
              },
            },
          ],
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function pascalCase(id: string): string {
  return id
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** A relative URI reference: forward slashes, each segment percent-encoded. */
function relativeUri(file: string): string {
  return file.split(path.sep).map(encodeURIComponent).join('/');
}
