import type Docker from 'dockerode';
import type { DockerServiceConfig, SwarmServiceConfig } from '../../config/types.js';
import type { NativeRollingSettings } from '../index.js';
import { commandWords } from '../docker/command-words.js';
import { LABELS } from '../docker/container-spec.js';
import { substituteEnv, substitutePlaceholders, type PlaceholderValues } from '../process/placeholders.js';

/**
 * The Swarm service of one release. All tasks of all releases share the host
 * network (there is no ingress or overlay network here: cutover's proxy is the
 * load balancer), so each task needs a port of its own: the service carries
 * CUTOVER_PORT_BASE and CUTOVER_TASK_SLOT={{.Task.Slot}} (Swarm fills the
 * template per task), and a small /bin/sh wrapper sets PORT = base + slot - 1
 * and INSTANCE = slot - 1 before it execs the real command. Swarm images
 * therefore need /bin/sh. The image's HEALTHCHECK stays as it is; Swarm only
 * calls a task running once it passes (a check that reads $PORT must compute
 * it the same way: healthcheck processes do not inherit the wrapper's export).
 */

/** Labels of the Swarm service (and its task containers), on top of the docker ones in container-spec.ts. */
export const SWARM_LABELS = {
  ...LABELS,
  /** First port of the service's tasks (task slot N listens on base + N - 1). */
  portBase: 'cutover.port-base',
} as const;

/** The env key the wrapper and the adoption after a restart read the port base from. */
export const PORT_BASE_ENV = 'CUTOVER_PORT_BASE';
export const TASK_SLOT_ENV = 'CUTOVER_TASK_SLOT';
/** The node a task runs on ({{.Node.ID}}): the wrapper looks its address up to bind HOST. */
export const NODE_ID_ENV = 'CUTOVER_NODE_ID';

export interface SwarmReleaseSpec {
  service: string;
  releaseId: string;
  version: string;
  slot: string;
  /** Raw config command ('' keeps the image's own entrypoint and command). */
  command: string;
  env: Record<string, string>;
  stopGracePeriodMs: number;
}

export interface SwarmServicePlan {
  name: string;
  image: string;
  spec: Docker.ServiceSpec;
}

/** `cutover-<owner>-<release>-<slot>`: one Swarm service per release; its name never changes, its labels say what it runs now. */
export function swarmServiceName(owner: string, release: { releaseId: string; slot: string }): string {
  return `cutover-${owner}-${release.releaseId}-${release.slot}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 63);
}

/** The image reference of a release ($VERSION filled in). */
export function imageOf(settings: DockerServiceConfig, version: string): string {
  return substitutePlaceholders(settings.image, {
    VERSION: version,
    PORT: '${PORT}',
    SLOT: '${SLOT}',
    INSTANCE: '${INSTANCE}',
  });
}

/**
 * ${PORT} and ${INSTANCE} differ per task, so they cannot be filled in when
 * the service is made: in command words and env values they become the
 * shell's "$PORT" and "$INSTANCE", set by the wrapper. Everything else is
 * single-quoted, so the shell changes nothing else in a word.
 */
function shellWord(text: string): string {
  return (
    text
      .split(/(\$\{PORT\}|\$\{INSTANCE\})/)
      .map((part) => {
        if (part === '${PORT}') return '"$PORT"';
        if (part === '${INSTANCE}') return '"$INSTANCE"';
        return part === '' ? '' : `'${part.replace(/'/g, `'\\''`)}'`;
      })
      .join('') || "''"
  );
}

const PER_TASK = /\$\{(PORT|INSTANCE)\}/;

/**
 * Swarm expands a service's Env as Go templates (cutover's own
 * `{{.Task.Slot}}` below relies on it), so a config or env-file value with
 * `{{` in it would be expanded (`{{.Node.Hostname}}`) or make Swarm refuse the
 * service ("function not defined"). Each `{{` is written as the template
 * `{{"{{"}}`, which expands to the two braces: a lone `}}` is text to Go.
 */
export function literalForSwarmTemplate(value: string): string {
  return value.split('{{').join('{{"{{"}}');
}

/**
 * The wrapper: computes PORT and INSTANCE from the task slot, exports the env
 * values that use them, then execs the command (so signals reach the app).
 */
export function wrapperScript(
  words: string[],
  perTaskEnv: Record<string, string>,
  nodeAddresses: Readonly<Record<string, string>> = {},
): string {
  const exports = Object.entries(perTaskEnv)
    .map(([key, value]) => `${key}=${shellWord(value)}; export ${key}; `)
    .join('');
  return `PORT=$((${PORT_BASE_ENV} + ${TASK_SLOT_ENV} - 1)); INSTANCE=$((${TASK_SLOT_ENV} - 1)); export PORT INSTANCE; ${hostByNode(nodeAddresses)}${exports}exec ${words.map(shellWord).join(' ')}`;
}

/**
 * HOST = the address of the node the task landed on, so the app listens
 * where cutover dials it and nowhere else. Swarm's templates know a task's
 * node ID but not its address, so the service carries the table of the
 * nodes known when it was made; a node not in it keeps the service's HOST.
 */
function hostByNode(nodeAddresses: Readonly<Record<string, string>>): string {
  const entries = Object.entries(nodeAddresses);
  if (entries.length === 0) return '';
  const arms = entries.map(([node, address]) => `${shellWord(node)}) HOST=${shellWord(address)};; `).join('');
  return `case "$${NODE_ID_ENV}" in ${arms}esac; export HOST; `;
}

export function planSwarmService(input: {
  release: SwarmReleaseSpec;
  settings: DockerServiceConfig;
  swarm: SwarmServiceConfig;
  owner: string;
  host: string;
  /** Node ID to the address its tasks listen on (HOST); a node not listed uses `host`. */
  nodeAddresses?: Readonly<Record<string, string>>;
  portBase: number;
  replicas: number;
  /** The image's own Entrypoint + Cmd, used when the config has no command. */
  imageCommand: string[];
  update: Docker.UpdateConfig | null;
}): SwarmServicePlan {
  const { release, settings, owner, host, portBase } = input;
  const image = imageOf(settings, release.version);
  // Fixed per service: VERSION and SLOT. PORT and INSTANCE are per task (see shellWord).
  const values: PlaceholderValues = {
    VERSION: release.version,
    SLOT: release.slot,
    PORT: '${PORT}',
    INSTANCE: '${INSTANCE}',
  };
  const env = substituteEnv(release.env, values);
  const perTask = Object.fromEntries(Object.entries(env).filter(([, value]) => PER_TASK.test(value)));
  const fixed = Object.entries(env).filter(([key]) => !(key in perTask));
  const words =
    release.command.trim() === ''
      ? input.imageCommand
      : commandWords(release.command).map((word) => substitutePlaceholders(word, values));
  const labels: Record<string, string> = {
    ...settings.labels,
    [SWARM_LABELS.owner]: owner,
    [SWARM_LABELS.service]: release.service,
    [SWARM_LABELS.release]: release.releaseId,
    [SWARM_LABELS.slot]: release.slot,
    [SWARM_LABELS.version]: release.version,
    [SWARM_LABELS.portBase]: String(portBase),
  };
  const spec: Docker.ServiceSpec = {
    Name: swarmServiceName(owner, release),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        Labels: labels,
        Command: ['/bin/sh', '-c', wrapperScript(words, perTask, input.nodeAddresses)],
        Args: [],
        Env: [
          ...fixed.map(([key, value]) => `${key}=${literalForSwarmTemplate(value)}`),
          `HOST=${host}`,
          `VERSION=${release.version}`,
          `SLOT=${release.slot}`,
          `${PORT_BASE_ENV}=${portBase}`,
          `${TASK_SLOT_ENV}={{.Task.Slot}}`,
          `${NODE_ID_ENV}={{.Node.ID}}`,
        ],
        // A small init as PID 1 forwards SIGTERM to the app and reaps what it starts, as with runtime: docker.
        Init: true,
        StopGracePeriod: Math.max(1, release.stopGracePeriodMs) * 1e6,
      },
      // Swarm's default, on purpose: a replica that exits, even with code 0, is an instance missing; Swarm
      // brings it back (cutover's supervisor then waits for the new task, see SwarmRuntime.start).
      RestartPolicy: { Condition: 'any', Delay: 1e9, MaxAttempts: 0 },
      Placement: { Constraints: input.swarm.placement },
      // The host network: every task listens on its node's address on its own port; cutover's proxy balances.
      Networks: [{ Target: 'host' }],
      ...(settings.cpus === null && settings.memoryBytes === null
        ? {}
        : {
            Resources: {
              Limits: {
                ...(settings.cpus === null ? {} : { NanoCPUs: Math.round(settings.cpus * 1e9) }),
                ...(settings.memoryBytes === null ? {} : { MemoryBytes: settings.memoryBytes }),
              },
            },
          }),
    },
    Mode: { Replicated: { Replicas: input.replicas } },
    ...(input.update ? { UpdateConfig: input.update, RollbackConfig: rollbackConfigOf(input.update) } : {}),
  };
  return { name: spec.Name as string, image, spec };
}

/**
 * A rolling strategy as Swarm's UpdateConfig (durations in nanoseconds).
 * The deploy timeout has no Swarm counterpart: cutover enforces it.
 */
export function updateConfigOf(rolling: NativeRollingSettings): Docker.UpdateConfig {
  return {
    Parallelism: rolling.parallelism,
    Delay: rolling.delayMs * 1e6,
    FailureAction: rolling.failureAction,
    Monitor: rolling.monitorMs * 1e6,
    MaxFailureRatio: rolling.maxFailureRatio,
    Order: rolling.order,
  };
}

/**
 * How Swarm rolls back: as the update went (parallelism, order, monitor),
 * without the delay (getting back is urgent), and pausing if the rollback
 * itself fails (rollback-of-a-rollback is not a thing; a person decides).
 */
export function rollbackConfigOf(update: Docker.UpdateConfig): Docker.UpdateConfig {
  return {
    Parallelism: update.Parallelism,
    Delay: 0,
    FailureAction: 'pause',
    Monitor: update.Monitor ?? 0,
    MaxFailureRatio: update.MaxFailureRatio ?? 0,
    Order: update.Order,
  };
}
