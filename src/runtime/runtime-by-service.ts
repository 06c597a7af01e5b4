import type { ContainerHealth } from './docker/docker-runtime.js';
import type { InstanceInfo, InstanceSpec, NativeRollingUpdates, Runtime, RuntimeListener } from './index.js';

/**
 * One Runtime for the controller over several adapters: each service runs on
 * the runtime its config names (`runtime: process`, `docker`, `swarm` or `kubernetes`).
 * Calls are dispatched by service; an instance id starts with its service
 * name (`<service>/<release>/<slot>-<index>`, and service names hold no "/").
 * A service the config no longer has goes to the fallback runtime.
 */
export class RuntimeByService implements Runtime {
  readonly kind = 'by-service';
  private readonly runtimes: Runtime[];

  constructor(
    private readonly byService: ReadonlyMap<string, Runtime>,
    private readonly fallback: Runtime,
  ) {
    this.runtimes = [...new Set([fallback, ...byService.values()])];
  }

  runtimeOf(service: string): Runtime {
    return this.byService.get(service) ?? this.fallback;
  }

  start(spec: InstanceSpec): Promise<InstanceInfo> {
    return this.runtimeOf(spec.service).start(spec);
  }

  stop(instanceId: string, gracePeriodMs?: number): Promise<void> {
    return this.runtimeOf(serviceOf(instanceId)).stop(instanceId, gracePeriodMs);
  }

  list(): InstanceInfo[] {
    return this.runtimes.flatMap((runtime) => runtime.list());
  }

  /** Every adapter sees the records of its own services (and a runtime may clean up what no record names). */
  async adopt(records: InstanceInfo[]): Promise<InstanceInfo[]> {
    const adopted = await Promise.all(
      this.runtimes.map((runtime) =>
        runtime.adopt(records.filter((record) => this.runtimeOf(record.service) === runtime)),
      ),
    );
    return adopted.flat();
  }

  onExit(listener: RuntimeListener): void {
    for (const runtime of this.runtimes) runtime.onExit(listener);
  }

  tailLog(instanceId: string, lines: number): Promise<string> {
    return this.runtimeOf(serviceOf(instanceId)).tailLog(instanceId, lines);
  }

  /** The Docker HEALTHCHECK status of a container instance (see DockerRuntime); null for a process or an image without one. */
  async containerHealth(instanceId: string): Promise<ContainerHealth> {
    const runtime = this.runtimeOf(serviceOf(instanceId)) as Runtime & {
      containerHealth?: (id: string) => Promise<ContainerHealth>;
    };
    return runtime.containerHealth ? runtime.containerHealth(instanceId) : null;
  }

  healthReason(instanceId: string): string | null {
    return this.runtimeOf(serviceOf(instanceId)).healthReason?.(instanceId) ?? null;
  }

  replacesUnhealthyInstances(instanceId: string): boolean {
    return this.runtimeOf(serviceOf(instanceId)).replacesUnhealthyInstances?.(instanceId) === true;
  }

  /** The native rolling updates of the runtime that runs `service`, if it has any. */
  nativeRollingUpdates(service: string): NativeRollingUpdates | null {
    return this.runtimeOf(service).nativeRollingUpdates?.(service) ?? null;
  }

  async close(): Promise<void> {
    await Promise.all(this.runtimes.map((runtime) => runtime.close()));
  }

  async detach(): Promise<void> {
    await Promise.all(this.runtimes.map((runtime) => runtime.detach()));
  }
}

function serviceOf(instanceId: string): string {
  const slash = instanceId.indexOf('/');
  return slash === -1 ? instanceId : instanceId.slice(0, slash);
}
