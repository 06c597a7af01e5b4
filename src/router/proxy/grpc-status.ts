/**
 * gRPC status codes (grpc/doc/statuscodes.md) as the HTTP status a gateway
 * answers for them, the mapping of google.rpc.Code (and grpc-gateway): what
 * the release counters, the error-rate analysis and passive health read, so
 * INTERNAL or UNAVAILABLE from a canary counts like a 500 or a 503 would.
 * Client-side outcomes (NOT_FOUND, INVALID_ARGUMENT, CANCELLED…) land in
 * 4xx, as they do for HTTP: they do not fail a canary.
 */
const AS_HTTP: readonly number[] = [
  200, // 0 OK
  499, // 1 CANCELLED
  500, // 2 UNKNOWN
  400, // 3 INVALID_ARGUMENT
  504, // 4 DEADLINE_EXCEEDED
  404, // 5 NOT_FOUND
  409, // 6 ALREADY_EXISTS
  403, // 7 PERMISSION_DENIED
  429, // 8 RESOURCE_EXHAUSTED
  400, // 9 FAILED_PRECONDITION
  409, // 10 ABORTED
  400, // 11 OUT_OF_RANGE
  501, // 12 UNIMPLEMENTED
  500, // 13 INTERNAL
  503, // 14 UNAVAILABLE
  500, // 15 DATA_LOSS
  401, // 16 UNAUTHENTICATED
];

export const GRPC_UNAVAILABLE = 14;

/** The HTTP status a gRPC status counts as; a code outside the table is UNKNOWN (500). */
export function grpcStatusAsHttp(code: number): number {
  return AS_HTTP[code] ?? 500;
}
