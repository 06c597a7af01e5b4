import type { EventRecord } from '../store/records.js';
/** One analysis measurement as `history` and `status` show it: what was measured, its value and verdict, when. */
export interface AnalysisMeasurement {
  operationId: string | null;
  releaseId: string | null;
  at: number;
  scope: string;
  template: string;
  metric: string;
  value: unknown;
  phase: string;
  /** Set when the value counted the analysis' own synthetic requests (a template's `load:`). */
  synthetic?: { requests: number; failed: number };
}

export function toMeasurement(event: EventRecord): AnalysisMeasurement {
  const data = (event.data ?? {}) as {
    scope?: string;
    template?: string;
    metric?: string;
    value?: unknown;
    phase?: string;
    synthetic?: { requests: number; failed: number };
  };
  return {
    operationId: event.operationId,
    releaseId: event.releaseId,
    at: event.at,
    scope: data.scope ?? '',
    template: data.template ?? '',
    metric: data.metric ?? '',
    value: data.value ?? null,
    phase: data.phase ?? '',
    ...(data.synthetic === undefined ? {} : { synthetic: data.synthetic }),
  };
}
