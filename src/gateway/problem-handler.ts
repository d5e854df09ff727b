// The servers' error handler: every refusal leaves as an RFC 9457 problem document, and nothing that
// was not made to be shown (a stack, a store's message, a value) is echoed.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { CordonError } from '../shared/errors.js';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from '../shared/problem.js';
import { validationProblem } from '../shared/api-schema.js';

/** Sends problems as application/problem+json; maps Fastify's own errors; never echoes unknown ones. */
export function problemHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let problem: HttpProblem;
  // Input that fails the route's schema: 400 naming the part and path, before the handler ran.
  const invalid = validationProblem(error, request.routeOptions.config);
  if (invalid) problem = invalid;
  else if (error instanceof HttpProblem) problem = error;
  // A 500 code is a failure inside cordon (a key service that fails): logged below, never echoed.
  else if (error instanceof CordonError && error.status !== 500) {
    // Other 5xx (decide.evaluation_failed) refuse the whole request; logged with the cause, which is not echoed.
    if (error.status >= 500) request.log.error({ err: error }, 'request refused');
    problem = new HttpProblem(error.code, error.message);
  } else if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    problem = new HttpProblem('gateway.payload_too_large', 'the request body is over the limit');
  else if ((error as FastifyError).statusCode === 400 || (error as FastifyError).code?.startsWith('FST_ERR_CTP')) {
    problem = new HttpProblem('gateway.invalid_body', 'the request body is not valid JSON');
  } else {
    request.log.error({ err: error }, 'unexpected error');
    problem = new HttpProblem('internal.error', 'an unexpected error; it was logged');
  }
  void reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem.body());
}
