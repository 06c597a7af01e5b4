/**
 * An RFC 7807 problem document as an ACME CA sends it (RFC 8555 §6.7):
 * `type` like urn:ietf:params:acme:error:connection, a human `detail`.
 * Both come from the CA, so they are cut to a length a log line and an
 * error message can hold, and control characters are dropped.
 */
export interface AcmeProblem {
  type: string;
  detail: string;
  status?: number;
}

const MAX_TYPE = 200;
const MAX_DETAIL = 1000;

export function acmeProblemFrom(value: unknown, status?: number): AcmeProblem | null {
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  if (typeof record.type !== 'string' || record.type.length === 0) return null;
  const problem: AcmeProblem = {
    type: printable(record.type, MAX_TYPE),
    detail: typeof record.detail === 'string' ? printable(record.detail, MAX_DETAIL) : '',
  };
  const code = typeof record.status === 'number' ? record.status : status;
  if (code !== undefined) problem.status = code;
  return problem;
}

export function describeAcmeProblem(problem: AcmeProblem): string {
  return problem.detail ? `${problem.type}: ${problem.detail}` : problem.type;
}

function printable(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
