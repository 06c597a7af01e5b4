import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import type { Upstream } from '../../src/router/index.js';
import { freePort } from '../router/proxy-fixtures.js';

/**
 * The gRPC sample app (examples/grpc-app) as a real child process, and a
 * real @grpc/grpc-js client for it: the tests of `protocol: grpc` call
 * through the proxy what a team's gRPC clients would.
 */
export const GRPC_APP = fileURLToPath(new URL('../../../examples/grpc-app/server.js', import.meta.url));

export interface GrpcApp {
  version: string;
  port: number;
  upstream(id: string): Upstream;
  stop(): Promise<void>;
}

export async function startGrpcApp(version: string): Promise<GrpcApp> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [GRPC_APP], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), APP_VERSION: version, HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`grpc app ${version} did not start: ${output}`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`grpc app ${version} exited with ${code}: ${output}`));
    });
  });
  return {
    version,
    port,
    upstream: (id) => ({ id, host: '127.0.0.1', port }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
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
