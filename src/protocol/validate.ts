import type { ErrorObject } from 'ajv';
import type { Ack, EnrollmentRequest, Heartbeat, Job, Report } from './messages.ts';
import {
  validateAck,
  validateEnrollment,
  validateHeartbeat,
  validateJob,
  validateReport,
  type CompiledValidator,
} from './schemas/validators.js';

// Schema checks for every message the protocol accepts; a failure lists the problems in words (what a
// receiver puts in its 422 answer).

export type Checked<T> = { ok: true; value: T } | { ok: false; errors: string[] };

function checker<T>(validate: CompiledValidator) {
  return (value: unknown): Checked<T> => {
    if (validate(value)) return { ok: true, value: value as T };
    return { ok: false, errors: (validate.errors ?? []).map(describe) };
  };
}

function describe(error: ErrorObject): string {
  const where = error.instancePath || '(the message)';
  if (error.keyword === 'additionalProperties')
    return `${where}: unknown property "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  if (error.keyword === 'enum')
    return `${where}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where}: ${error.message}`;
}

export const checkJob = checker<Job>(validateJob);
export const checkReport = checker<Report>(validateReport);
export const checkHeartbeat = checker<Heartbeat>(validateHeartbeat);
export const checkEnrollment = checker<EnrollmentRequest>(validateEnrollment);
export const checkAck = checker<Ack>(validateAck);

/** Parses a JSON body and checks it, so a receiver has one call for "is this a valid X". */
export function parseChecked<T>(body: string, check: (value: unknown) => Checked<T>): Checked<T> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { ok: false, errors: [`body is not JSON: ${(error as Error).message}`] };
  }
  return check(value);
}
