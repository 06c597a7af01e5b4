import path from 'node:path';

/**
 * Expand/contract: an `expand` migration must keep the running release
 * working (it only adds), a `contract` migration removes what no running
 * release uses any more and runs only after the old release is retired.
 */
export type MigrationPhase = 'expand' | 'contract';
export const MIGRATION_PHASES: readonly MigrationPhase[] = ['expand', 'contract'];

export type PhaseSource = 'option' | 'header' | 'folder' | 'default';

export interface PhaseDecision {
  phase: MigrationPhase;
  source: PhaseSource;
}

export function isMigrationPhase(value: string): value is MigrationPhase {
  return (MIGRATION_PHASES as readonly string[]).includes(value);
}

/** The phase a folder gives: the nearest enclosing folder named `expand` or `contract`. */
export function phaseFromPath(file: string): MigrationPhase | undefined {
  const folders = path.dirname(path.normalize(file)).split(/[\\/]/);
  return folders.reverse().find(isMigrationPhase);
}

/**
 * An explicit `--phase` wins, then the file's own header, then its folder.
 * With none, a file is an expand migration: the safe assumption, since a
 * drop in a file that says nothing is more likely a mistake than a contract.
 */
export function decidePhase(sources: {
  option?: MigrationPhase;
  header?: MigrationPhase;
  folder?: MigrationPhase;
}): PhaseDecision {
  if (sources.option) return { phase: sources.option, source: 'option' };
  if (sources.header) return { phase: sources.header, source: 'header' };
  if (sources.folder) return { phase: sources.folder, source: 'folder' };
  return { phase: 'expand', source: 'default' };
}
