import { Log, type KubeConfig } from '@kubernetes/client-node';
import { closedWithin, openInstanceLog, type LogCopy } from '../docker/container-logs.js';

export interface PodLogSource {
  kubeConfig: KubeConfig;
  namespace: string;
  pod: string;
  container: string;
}

/**
 * Copies a pod container's output into its instance log file, the one
 * `cutover logs` reads, as the Docker and Swarm runtimes copy theirs: the
 * API's log stream with follow, until the container ends (a restarted
 * container is the next start's copy). The kubelet keeps the output, so after
 * a controller restart the copy goes on from the file's last change
 * (`sinceSeconds`), with at most a second of lines written twice.
 */
export async function copyPodLogs(
  source: PodLogSource,
  logPath: string,
  header: string | null,
  sinceSeconds: number | null,
): Promise<LogCopy> {
  const { file, closed } = openInstanceLog(logPath, header);
  const end = (): void => {
    if (!file.writableEnded) file.end();
  };
  let follow: AbortController;
  try {
    // The stream is piped into the file, which it ends when the container's output ends.
    follow = await new Log(source.kubeConfig).log(source.namespace, source.pod, source.container, file, {
      follow: true,
      ...(sinceSeconds === null ? {} : { sinceSeconds: Math.max(1, Math.ceil(sinceSeconds)) }),
    });
  } catch (error) {
    end();
    throw error;
  }
  return {
    finished: (timeoutMs) => closedWithin(closed, timeoutMs),
    stop: () => {
      follow.abort();
      end();
    },
  };
}
