/**
 * Which database backups retention removes. Two kinds, kept by different
 * rules: automatic ones (`pre-<version>`, taken before a deploy's
 * migrations) are trimmed to the newest `keep`; a manual one (`cutover db
 * backup --label`) is a person's decision and stays until it is deleted or
 * its own `--expires` has passed, and never counts against `keep`. Pure.
 */
export type BackupKind = 'automatic' | 'manual';

export interface RetainedBackup {
  kind: BackupKind;
  /** Epoch ms after which a manual backup may be removed; null: never. */
  expiresAt: number | null;
  createdAt: number;
}

/** The backups to remove, from a list sorted newest first. */
export function backupsToRemove<T extends RetainedBackup>(newestFirst: readonly T[], keep: number, now: number): T[] {
  const automatic = newestFirst.filter((b) => b.kind === 'automatic');
  const expired = newestFirst.filter((b) => b.kind === 'manual' && b.expiresAt !== null && b.expiresAt <= now);
  return [...automatic.slice(Math.max(0, keep)), ...expired];
}

const EXPIRY = /^(\d{1,5})(h|d|w)$/;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `--expires 30d`: hours, days or weeks from now, as ms; null when the text is not one. */
export function parseBackupExpiry(text: string): number | null {
  const match = EXPIRY.exec(text.trim());
  if (!match || Number(match[1]) === 0) return null;
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}
