import type { ErrorObject } from 'ajv';

/** The bot configuration schema compiled by scripts/compile-schemas.ts (ajv standalone). */
export interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}
export declare const validateBotConfig: CompiledValidator;
