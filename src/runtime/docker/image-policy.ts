import type Docker from 'dockerode';
import { CutoverError } from '../../core/errors.js';
import type { DockerServiceConfig } from '../../config/types.js';
import { dockerMessage, dockerStatus, startFailure } from './docker-client.js';

type PullPolicy = DockerServiceConfig['pull'];

/**
 * Makes sure the daemon has an image before containers are created from it,
 * by the service's pull policy. Starts of several instances at once share one
 * pull of the same image. Every failure names the image and the policy, so
 * "pull: never and the image was never loaded" reads differently from "the
 * registry refused the pull".
 */
export class ImageProvider {
  private readonly pulls = new Map<string, Promise<void>>();

  constructor(
    private readonly docker: Docker,
    private readonly daemonHost: string,
  ) {}

  async ensure(image: string, policy: PullPolicy, instanceId: string): Promise<void> {
    if (policy !== 'always' && (await this.isPresent(image, instanceId))) return;
    if (policy === 'never') {
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot start ${instanceId}: image ${image} is not on the Docker daemon, and the pull policy is "never".`,
        {
          hint: `Load or build ${image} on the daemon (docker load, docker build), or set pull: if-missing; traffic was not moved.`,
        },
      );
    }
    let pulling = this.pulls.get(image);
    if (!pulling) {
      pulling = this.pull(image).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pulling);
    }
    try {
      await pulling;
    } catch (error) {
      if (error instanceof CutoverError) throw error;
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot start ${instanceId}: image ${image} could not be pulled (pull policy "${policy}"): ${dockerMessage(error)}`,
        {
          hint: `Check the image name and tag, that the registry is reachable and you are logged in, or load the image on the daemon and set pull: never; traffic was not moved.`,
          cause: error,
        },
      );
    }
  }

  private async isPresent(image: string, instanceId: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (dockerStatus(error) === 404) return false;
      throw startFailure(instanceId, `looking up image ${image}`, error, this.daemonHost);
    }
  }

  /** Resolves when the pull completed; the progress stream carries registry errors, not the HTTP status. */
  private async pull(image: string): Promise<void> {
    const stream = await this.docker.pull(image);
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()));
    });
  }
}
