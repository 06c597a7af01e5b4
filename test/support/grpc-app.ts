import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import { startAppProcess, type SampleApp } from '../router/proxy-fixtures.js';

/**
 * The gRPC sample app (examples/grpc-app) as a real child process, and a
 * real @grpc/grpc-js client for it: the tests of `protocol: grpc` call
 * through the proxy what a team's gRPC clients would.
 */
export const GRPC_APP = fileURLToPath(new URL('../../../examples/grpc-app/server.js', import.meta.url));

export type GrpcApp = SampleApp;

/** The gRPC app on a free port, with nothing of this process's environment but PATH. */
export function startGrpcApp(version: string): Promise<GrpcApp> {
  return startAppProcess(GRPC_APP, version, { PATH: process.env.PATH ?? '' });
}

const json = {
  serialize: (value: unknown): Buffer => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer): unknown => JSON.parse(bytes.length === 0 ? '{}' : bytes.toString()) as unknown,
};

const method = (path: string, responseStream: boolean): grpc.MethodDefinition<unknown, unknown> => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});

const Greeter = grpc.makeGenericClientConstructor(
  { Hello: method('/demo.Greeter/Hello', false), Count: method('/demo.Greeter/Count', true) },
  'Greeter',
);

export interface GreeterReply {
  version: string;
  instance: string;
  greeting?: string;
  i?: number;
}

/** A client of demo.Greeter over TLS to `port`, trusting `caPem`, with `host` as SNI and :authority. */
export class GreeterClient {
  private readonly client: grpc.Client;

  constructor(port: number, host: string, caPem: string) {
    this.client = new Greeter(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(caPem)), {
      'grpc.ssl_target_name_override': host,
      'grpc.default_authority': host,
    });
  }

  hello(name: string, deadlineMs = 5_000): Promise<GreeterReply> {
    return new Promise((resolve, reject) => {
      (
        this.client as unknown as {
          Hello: (
            req: unknown,
            options: grpc.CallOptions,
            done: (error: grpc.ServiceError | null, reply: GreeterReply) => void,
          ) => void;
        }
      ).Hello({ name }, { deadline: Date.now() + deadlineMs }, (error, reply) =>
        error ? reject(error) : resolve(reply),
      );
    });
  }

  /** Server streaming: every message of a Count call, with the time each arrived. */
  count(n: number, everyMs: number, onMessage?: (reply: GreeterReply) => void): Promise<GreeterReply[]> {
    return new Promise((resolve, reject) => {
      const call = (
        this.client as unknown as { Count: (req: unknown) => grpc.ClientReadableStream<GreeterReply> }
      ).Count({ n, everyMs });
      const replies: GreeterReply[] = [];
      call.on('data', (reply: GreeterReply) => {
        replies.push(reply);
        onMessage?.(reply);
      });
      call.on('error', reject);
      call.on('end', () => resolve(replies));
    });
  }

  close(): void {
    this.client.close();
  }
}
