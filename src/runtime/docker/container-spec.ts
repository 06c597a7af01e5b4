import type { ContainerCreateOptions } from 'dockerode';
import type { DockerServiceConfig } from '../../config/types.js';
import type { InstanceSpec } from '../index.js';
import { substituteEnv, substitutePlaceholders, type PlaceholderValues } from '../process/placeholders.js';
import { commandWords } from './command-words.js';

/**
 * The labels by which cutover finds its containers again after a restart.
 * `cutover.owner` identifies the state directory, so two cutover servers on
 * one daemon (staging and production, or two tests) never take or remove each
 * other's containers.
 */
export const LABELS = {
  owner: 'cutover.owner',
  service: 'cutover.service',
  release: 'cutover.release',
  slot: 'cutover.slot',
  instance: 'cutover.instance',
  version: 'cutover.version',
  port: 'cutover.port',
} as const;

export interface ContainerPlan {
  name: string;
  image: string;
  options: ContainerCreateOptions;
}

/** Docker's stop timeout is whole seconds; a grace period is never rounded down to nothing. */
export function stopTimeoutSeconds(gracePeriodMs: number): number {
  return Math.max(1, Math.ceil(gracePeriodMs / 1000));
}

/**
 * The container of one instance: image and command with the placeholders
 * filled, env (never the controller's own environment), labels, networking,
 * limits. With host networking the app listens on `host:port` itself; with
 * bridge networking the container port is published on `host:port`.
 */
export function planContainer(
  spec: InstanceSpec,
  settings: DockerServiceConfig,
  owner: string,
  host: string,
  port: number,
): ContainerPlan {
  const bridge = settings.network === 'bridge';
  const appPort = bridge ? (settings.containerPort ?? port) : port;
  const values: PlaceholderValues = {
    VERSION: spec.version,
    PORT: String(appPort),
    SLOT: spec.slot,
    INSTANCE: String(spec.index),
  };
  const image = substitutePlaceholders(settings.image, values);
  const env: Record<string, string> = {
    ...substituteEnv(spec.env, values),
    PORT: values.PORT,
    // Inside its own network namespace the app must listen on every interface for the published port to reach it.
    HOST: bridge ? '0.0.0.0' : host,
    VERSION: spec.version,
    SLOT: spec.slot,
    INSTANCE: values.INSTANCE,
    CUTOVER_INSTANCE_ID: `${spec.service}/${spec.releaseId}/${spec.slot}-${spec.index}`,
  };
  const labels: Record<string, string> = {
    ...settings.labels,
    [LABELS.owner]: owner,
    [LABELS.service]: spec.service,
    [LABELS.release]: spec.releaseId,
    [LABELS.slot]: spec.slot,
    [LABELS.instance]: String(spec.index),
    [LABELS.version]: spec.version,
    [LABELS.port]: String(port),
  };
  const cmd =
    spec.command.trim() === ''
      ? undefined
      : commandWords(spec.command).map((word) => substitutePlaceholders(word, values));
  const exposed = `${appPort}/tcp`;
  const options: ContainerCreateOptions = {
    name: containerName(owner, spec),
    Image: image,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: labels,
    StopTimeout: stopTimeoutSeconds(spec.stopGracePeriodMs),
    ...(cmd ? { Cmd: cmd } : {}),
    ...(bridge ? { ExposedPorts: { [exposed]: {} } } : {}),
    HostConfig: {
      NetworkMode: bridge ? 'bridge' : 'host',
      ...(bridge ? { PortBindings: { [exposed]: [{ HostIp: host, HostPort: String(port) }] } } : {}),
      // A small init as PID 1 forwards SIGTERM to the app and reaps what it starts, as the process runtime's process group does.
      Init: true,
      // Restarts are the controller's (with backoff, only for releases that serve traffic), not the daemon's.
      RestartPolicy: { Name: 'no' },
      ...(settings.cpus === null ? {} : { NanoCpus: Math.round(settings.cpus * 1e9) }),
      ...(settings.memoryBytes === null ? {} : { Memory: settings.memoryBytes }),
    },
  };
  return { name: options.name as string, image, options };
}

/** `cutover-<owner>-<service>-<release>-<slot>-<index>`: unique per state directory and instance. */
export function containerName(
  owner: string,
  instance: { service: string; releaseId: string; slot: string; index: number },
): string {
  return `cutover-${owner}-${instance.service}-${instance.releaseId}-${instance.slot}-${instance.index}`.replace(
    /[^A-Za-z0-9_.-]/g,
    '_',
  );
}
