// A small real gRPC service (HTTP/2 cleartext, @grpc/grpc-js) for the tests of `protocol: grpc`. Messages
// are JSON rather than protobuf: the wire format of a gRPC call does not depend on it, and the test needs
// no generated code. It answers with the version that served the call, so a test can prove calls moved.
//   demo.Greeter/Hello   unary: { name } → { version, instance, greeting }
//   demo.Greeter/Count   server streaming: { n, everyMs } → n messages { version, i }, one every everyMs
//   grpc.health.v1.Health/Check  the standard health call (protobuf, coded by hand): SERVING
// A version name can ask for a bad build, like the HTTP sample app:
//   *errorsNN*   fails NN% of Hello calls with INTERNAL (e.g. v2-errors20)
//   *unhealthy*  the health call answers NOT_SERVING
import grpc from '@grpc/grpc-js';

const version = process.env.APP_VERSION ?? process.env.VERSION ?? 'dev';
const port = Number(process.env.PORT ?? 50051);
const host = process.env.HOST ?? '127.0.0.1';
const instance = process.env.INSTANCE ?? '0';
const errorShare = Number(/errors(\d+)/.exec(version)?.[1] ?? 0) / 100;

const json = {
  serialize: (value) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes) => JSON.parse(bytes.length === 0 ? '{}' : bytes.toString()),
};
const method = (path, responseStream) => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
export const greeter = {
  Hello: method('/demo.Greeter/Hello', false),
  Count: method('/demo.Greeter/Count', true),
};
const health = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    // HealthCheckResponse { status: SERVING (1) } or NOT_SERVING (2), field 1 as a varint.
    responseSerialize: (status) => Buffer.from([0x08, status]),
    responseDeserialize: (b) => b,
  },
};

const server = new grpc.Server();
server.addService(greeter, {
  Hello(call, done) {
    if (errorShare > 0 && Math.random() < errorShare) {
      done({ code: grpc.status.INTERNAL, message: `${version} failed this call` });
      return;
    }
    done(null, { version, instance, greeting: `hello ${call.request.name ?? 'you'}` });
  },
  Count(call) {
    const n = Math.min(Number(call.request.n ?? 3), 10_000);
    const everyMs = Math.min(Number(call.request.everyMs ?? 10), 10_000);
    let i = 0;
    const timer = setInterval(() => {
      if (call.cancelled) {
        clearInterval(timer);
        return;
      }
      call.write({ version, instance, i });
      if (++i >= n) {
        clearInterval(timer);
        call.end();
      }
    }, everyMs);
    call.on('cancelled', () => clearInterval(timer));
  },
});
server.addService(health, {
  Check(_call, done) {
    done(null, version.includes('unhealthy') ? 2 : 1);
  },
});
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) {
    console.error(`grpc-app ${version}: ${error.message}`);
    process.exit(1);
  }
  console.log(`grpc-app ${version} listening on ${host}:${port}`);
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
