import {
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import type { FlagValueType } from '../../flags/evaluate.js';
import type { FlagClientOptions } from '../flags/client-options.js';
import { FlagClient, type FlagChange } from '../flags/flag-client.js';
import { toResolutionDetails } from './resolution-details.js';

/**
 * The OpenFeature provider (`cutover/openfeature`): a FlagClient behind the
 * OpenFeature server SDK's Provider interface. Evaluation stays local; the
 * OpenFeature context is passed through as the cutover context, so
 * `targetingKey` is the rollout key (the evaluation treats `userId` and
 * `targetingKey` as each other's stand-in).
 *
 * Events: PROVIDER_CONFIGURATION_CHANGED (flagsChanged: the changed keys) on
 * every new set, PROVIDER_STALE when the stream drops (or the client started
 * from its disk cache), PROVIDER_READY when it recovers. The first
 * PROVIDER_READY is the SDK's own, sent when initialize() resolves.
 */

export type CutoverProviderOptions =
  (FlagClientOptions & { client?: undefined; closeClient?: boolean }) | { client: FlagClient; closeClient?: boolean };

export class CutoverProvider implements Provider {
  readonly metadata = { name: 'cutover' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly client: FlagClient;
  private readonly closeClient: boolean;
  /** Whether PROVIDER_STALE was sent since the last PROVIDER_READY, so recovery is announced once. */
  private stale = false;
  private readonly onChange = (change: FlagChange): void => {
    this.events.emit(ProviderEvents.ConfigurationChanged, {
      flagsChanged: change.keys,
      metadata: { revision: change.revision },
    });
  };
  private readonly onStale = (error: Error): void => {
    this.stale = true;
    this.events.emit(ProviderEvents.Stale, { message: error.message });
  };
  private readonly onReady = (): void => {
    if (!this.stale) return;
    this.stale = false;
    this.events.emit(ProviderEvents.Ready, {});
  };

  /** Either FlagClient options (the provider makes and owns the client) or `{ client }`; onClose() closes it unless `closeClient: false`. */
  constructor(options: CutoverProviderOptions) {
    this.client = options.client ?? new FlagClient(options);
    this.closeClient = options.closeClient ?? true;
    this.client.on('change', this.onChange);
    this.client.on('stale', this.onStale);
    this.client.on('ready', this.onReady);
  }

  async initialize(): Promise<void> {
    await this.client.ready();
    if (this.client.state === 'stale') {
      // Started from the disk cache: the SDK announces READY when this resolves, so STALE must come after it.
      this.stale = true;
      setImmediate(() => {
        if (this.stale)
          this.events.emit(ProviderEvents.Stale, {
            message: 'answering from the flag cache; the server is unreachable',
          });
      });
    }
  }

  async onClose(): Promise<void> {
    this.client.off('change', this.onChange);
    this.client.off('stale', this.onStale);
    this.client.off('ready', this.onReady);
    if (this.closeClient) await this.client.close();
  }

  async resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    return this.resolve(flagKey, defaultValue, context, 'boolean');
  }

  async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return this.resolve(flagKey, defaultValue, context, 'string');
  }

  async resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<number>> {
    return this.resolve(flagKey, defaultValue, context, 'number');
  }

  async resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return this.resolve(flagKey, defaultValue, context, 'object');
  }

  private resolve<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    expectedType: FlagValueType,
  ): ResolutionDetails<T> {
    return toResolutionDetails(this.client.evaluate(flagKey, context, { expectedType }), defaultValue);
  }
}
