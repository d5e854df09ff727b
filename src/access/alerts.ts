// Break-glass alerts: the configured webhook is sent the grant (a few attempts, each with a
// timeout), the access log records whether it was delivered, and the broker emits 'alert'.

import type { EventEmitter } from 'node:events';
import type { Policy } from '../policy/index.js';
import type { AccessLog } from '../log/index.js';
import { iso } from './log-records.js';
import type { Grant } from './model.js';

const WEBHOOK_TIMEOUT_MS = 5000;
const WEBHOOK_ATTEMPTS = 3;

export interface AlertOptions {
  readonly policy: Policy;
  readonly log: AccessLog;
  readonly now: () => number;
  /** Where alerts go; none are sent when undefined. */
  readonly webhook: string | undefined;
  readonly fetch: typeof fetch;
  /** Gets 'alert' ({grant, delivered, status}) after each delivery. */
  readonly events: EventEmitter;
}

/** Alerts of one break-glass grant, when a webhook is configured; a failed delivery is recorded, not thrown. */
export function createAlerter(options: AlertOptions): (g: Grant) => Promise<void> {
  const { policy, log, now, webhook, events } = options;
  const doFetch = options.fetch;

  return async (g: Grant): Promise<void> => {
    if (!webhook) return;
    const body = JSON.stringify({
      type: 'cordon.break_glass',
      grant: g.id,
      principal: g.principal,
      reason: g.reason,
      ticket: g.ticket,
      justification: g.justification,
      datasets: g.scope.datasets,
      categories: g.scope.categories,
      subjects: g.scope.subjects?.length ?? null,
      jurisdictions: g.scope.jurisdictions,
      expiresAt: iso(g.expiresAt),
      reviewBy: g.reviewBy === undefined ? null : iso(g.reviewBy),
      log: policy.deployment.accessLog.origin,
    });
    let status = 0;
    for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS; attempt++) {
      try {
        const res = await doFetch(webhook, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) break;
      } catch {
        status = 0;
      }
      if (attempt < WEBHOOK_ATTEMPTS) await new Promise((r) => setTimeout(r, 200 * attempt));
    }
    const delivered = status >= 200 && status < 300;
    const t = now();
    await log
      .append({ v: 1, at: iso(t), type: 'broker.alert', grant: g.id, principal: g.principal, webhook: new URL(webhook).origin, delivered, status })
      .catch(() => undefined);
    events.emit('alert', { grant: g.id, delivered, status });
  };
}
