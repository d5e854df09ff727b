// Expected failures of migration, as CordonErrors with a migrate.* code (docs/errors.md).
import { CordonError, type ErrorCode } from '../shared/errors.js';

export class MigrateError extends CordonError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(code, message);
    this.name = 'MigrateError';
  }
}
