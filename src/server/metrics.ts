// Prometheus metrics: requests by route and status, their latency, and decisions by disclosure.
// Each server has its own registry (tests run several in one process).

import { Counter, Histogram, Registry } from 'prom-client';
import type { Decision } from '../policy/index.js';

export function createMetrics() {
  const registry = new Registry();
  const requests = new Counter({
    name: 'cordon_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'cordon_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  // Field decisions are counted here, per (disclosure, class), and handed to the counter when it is
  // scraped: one map update per field on the request path instead of a labelled increment.
  const decisionCounts = new Map<string, Map<string, { n: number }>>();
  new Counter({
    name: 'cordon_field_decisions_total',
    help: 'Field decisions by disclosure and class',
    labelNames: ['disclosure', 'class'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [disclosure, byClass] of decisionCounts) for (const [cls, c] of byClass) this.inc({ disclosure, class: cls }, c.n);
    },
  });
  return {
    contentType: registry.contentType,
    observe(method: string, route: string, status: number, seconds: number): void {
      requests.inc({ method, route, status: String(status) });
      latency.observe({ route }, seconds);
    },
    decided(d: Decision): void {
      for (const f of d.fields) {
        let byClass = decisionCounts.get(f.disclosure);
        if (!byClass) {
          byClass = new Map();
          decisionCounts.set(f.disclosure, byClass);
        }
        const cls = f.class ?? 'unclassified';
        const c = byClass.get(cls);
        if (c) c.n++;
        else byClass.set(cls, { n: 1 });
      }
    },
    text: () => registry.metrics(),
  };
}
