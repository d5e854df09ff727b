// HTTP errors as RFC 9457 problem details (application/problem+json) with a stable `code` from the
// registry. Unknown errors become a generic 500 that is logged, never echoed.

import { CordonError, ERROR_CODES, type ErrorCode } from './errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly [extra: string]: unknown;
}

/** A CordonError as the HTTP API answers it: the detail is the message, `extra` goes into the body. */
export class HttpProblem extends CordonError {
  constructor(
    code: ErrorCode,
    readonly detail: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(code, detail);
    this.name = 'HttpProblem';
  }
  body(): ProblemBody {
    return {
      type: `https://cordon.dev/errors/${this.code}`,
      title: ERROR_CODES[this.code].message,
      status: this.status,
      code: this.code,
      detail: this.detail,
      ...this.extra,
    };
  }
}
