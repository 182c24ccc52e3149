import type { ErrorObject } from 'ajv';

/** The protocol schemas compiled by scripts/compile-schemas.ts (ajv standalone). */
export interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}
export declare const validateJob: CompiledValidator;
export declare const validateReport: CompiledValidator;
export declare const validateHeartbeat: CompiledValidator;
export declare const validateEnrollment: CompiledValidator;
export declare const validateAck: CompiledValidator;
