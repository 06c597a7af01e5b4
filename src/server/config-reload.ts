import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { diffConfigs, isUnchanged, liveConfig, type ConfigChanges } from '../config/config-changes.js';
import { sha256Of } from '../config/config-digest.js';
import { loadConfig } from '../config/load-config.js';
import type { Controller } from '../controller/controller.js';
import { CutoverError } from '../core/errors.js';
import type { Notifier } from '../notify/notifier.js';
import { loadServiceCertificates } from './service-certificates.js';

/** What `cutover reload` answers: the file, its digest now, and what changed (or nothing). */
export interface ReloadResult {
  file: string;
  sha256: string;
  changes: ConfigChanges;
  /** Services whose certificate the reload swapped (their files were renewed, or tls/hsts changed). */
  certificates: string[];
}

/** The config file the server runs, as `GET /api/v1/config` tells it (the CLI compares digests). */
export interface RunningConfigInfo {
  file: string | null;
  sha256: string | null;
  loadedAt: number;
}

/**
 * `cutover reload` and SIGHUP: the file is read and validated whole (any
 * error refuses all of it and changes nothing), compared with what runs,
 * and its live part applied (config-changes.ts says which part that is).
 * One reload at a time.
 */
export class ConfigReloader {
  private digest: string | null = null;
  private loadedAt: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: {
      controller: Controller;
      notifier: Notifier;
      logger: Logger;
      env?: NodeJS.ProcessEnv;
      now?: () => number;
    },
  ) {
    this.loadedAt = this.now();
  }

  /** Records the digest of the file the server started with (read once, right after the start). */
  async remember(): Promise<void> {
    const file = this.deps.controller.config.file;
    if (file === null) return;
    this.digest = await digestOf(file).catch(() => null);
  }

  info(): RunningConfigInfo {
    return { file: this.deps.controller.config.file, sha256: this.digest, loadedAt: this.loadedAt };
  }

  reload(actor: string): Promise<ReloadResult> {
    const next = this.queue.then(() => this.reloadNow(actor));
    this.queue = next.catch(() => {});
    return next;
  }

  private async reloadNow(actor: string): Promise<ReloadResult> {
    const { controller, notifier, logger } = this.deps;
    const running = controller.config;
    if (running.file === null)
      throw new CutoverError(
        'BAD_REQUEST',
        'this server was started without a config file: there is nothing to reload',
      );
    // The digest of the text that was validated: a file edited during the read would be caught next time.
    const text = await readFile(running.file, 'utf8').catch(() => null);
    const next = await loadConfig(running.file, { env: this.deps.env });
    // Read and checked before anything applies: a renewed file that does not fit refuses the whole reload.
    // Without the TLS listener (server.https needs a restart) there is nothing to serve them on yet.
    const certificates = running.server.https === undefined ? new Map() : loadServiceCertificates(next);
    const changes = diffConfigs(running, next);
    const sha256 = text === null ? null : sha256Of(text);
    if (!isUnchanged(changes)) {
      const live = liveConfig(running, next, changes);
      controller.reconfigure(live);
      if (changes.notifications) notifier.replaceTargets(live.notifications);
      this.record(actor, changes);
    }
    // Every reload, changed file or not: certbot renews the files, not cutover.yaml.
    const swapped = await controller.replaceCertificates(certificates);
    this.digest = sha256;
    this.loadedAt = this.now();
    logger.info({ changes, certificates: swapped, actor }, `config reloaded from ${running.file}`);
    return { file: running.file, sha256: sha256 ?? '', changes, certificates: swapped };
  }

  /** Every added or changed service gets a line in its history: who reloaded, and what changed. */
  private record(actor: string, changes: ConfigChanges): void {
    const { events } = this.deps.controller;
    for (const service of changes.added) {
      events.record({
        operationId: null,
        service,
        releaseId: null,
        type: 'config.reloaded',
        message: `added to the running config by a reload of cutover.yaml (${actor}); deploy it with \`cutover deploy ${service} --version <v>\``,
      });
    }
    for (const { service, fields } of changes.changed) {
      events.record({
        operationId: null,
        service,
        releaseId: null,
        type: 'config.reloaded',
        message: `${fields.join(', ')} changed by a reload of cutover.yaml (${actor}); the next deploy uses them, the release that serves keeps its own`,
        data: { fields },
      });
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

async function digestOf(file: string): Promise<string> {
  return sha256Of(await readFile(file, 'utf8'));
}
