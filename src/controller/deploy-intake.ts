import { configHash } from '../config/config-hash.js';
import { secretEnvFileValues, withEnvFiles } from '../config/env-files.js';
import { redactServiceConfig } from '../config/redact.js';
import type { SecretRedactor } from '../config/secret-redactor.js';
import { CutoverError } from '../core/errors.js';
import { idleSlot } from '../core/release-selection.js';
import { assertValidVersion } from '../core/version-grammar.js';
import type { OperationRecord } from '../store/records.js';
import { prepareDatabase } from './database-hooks.js';
import type { GitInfo } from './git-info.js';
import { newOperationId } from './operation-ids.js';
import type { RunnerContext } from './runner-context.js';
import type { StrategyRegistry } from './strategy-registry.js';
import type { DeployRequest } from './strategy-runner.js';

export interface DeployIntakeDeps {
  context: RunnerContext;
  strategies: StrategyRegistry;
  redactor: SecretRedactor;
  gitInfo: (cwd: string) => Promise<GitInfo>;
}

/**
 * What every deploy goes through before its strategy's runner sees it: the
 * version grammar, the slot, the runner's own refusals, the lock, the
 * database (migrations run under the lock, before any instance starts) and
 * the release record. A refusal anywhere releases the lock and records
 * nothing but what the database step itself recorded.
 */
export async function startDeploy(
  deps: DeployIntakeDeps,
  name: string,
  request: DeployRequest,
): Promise<OperationRecord> {
  const { context, strategies, redactor } = deps;
  const { store, clock } = context;
  // Every entry point (API, retry, deploy --all) comes through here: the version fills ${VERSION} in commands, image tags and paths.
  assertValidVersion(request.version);
  const configured = context.service(name);
  // Read now, before the lock: a missing env file refuses the deploy with nothing started.
  const { service, fileEnv } = withEnvFiles(configured);
  redactor.learn(secretEnvFileValues(fileEnv, service.secrets));
  const active = context.lifecycle.activeRelease(name);
  const slot = request.slot === undefined || request.slot === 'auto' ? idleSlot(active) : request.slot;
  if (active && active.slot === slot) {
    throw new CutoverError(
      'INVALID_STATE',
      `slot ${slot} serves the active release ${active.id}; a deploy goes to the idle slot`,
      {
        hint: `Use --slot auto (the idle slot is ${idleSlot(active)}).`,
      },
    );
  }
  const runner = strategies.forDeploy(service, active);
  runner.check?.(service, request);
  const git = await deps.gitInfo(service.cwd);
  const now = clock.now();
  const operationId = newOperationId(now);
  store.acquireLock(name, operationId, request.actor, now);
  try {
    const migrations = context.migrations();
    const database = await prepareDatabase(context, migrations, service, request.version, {
      operationId,
      actor: request.actor,
    });
    const release = store.createRelease(
      {
        service: name,
        version: request.version,
        slot,
        // The config as written (env_file paths, not their values): the snapshot and its hash compare with the config.
        config: redactor.redactValue(redactServiceConfig(configured)),
        configHash: configHash(configured),
        gitCommit: git.commit,
        gitBranch: git.branch,
        createdBy: request.actor,
      },
      now,
    );
    if (database) migrations?.recordKnown(release.id, database.known);
    return runner.deploy({ service, request, operationId, release, active, now });
  } catch (error) {
    store.releaseLock(name, operationId);
    throw error;
  }
}
