// Prometheus metrics: requests by route and status, their latency, and decisions by disclosure.
// Each server has its own registry (tests run several in one process).

import { Counter, Histogram, Registry } from 'prom-client';
import type { Decision } from '../policy/index.js';

export function createMetrics() {
  const registry = new Registry();
  const requests = new Counter({ name: 'cordon_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'cordon_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const decisions = new Counter({ name: 'cordon_field_decisions_total', help: 'Field decisions by disclosure and class', labelNames: ['disclosure', 'class'], registers: [registry] });
  return {
    contentType: registry.contentType,
    observe(method: string, route: string, status: number, seconds: number): void {
      requests.inc({ method, route, status: String(status) });
      latency.observe({ route }, seconds);
    },
    decided(d: Decision): void {
      // One increment per distinct (disclosure, class) of the decision, not one per field.
      const counts = new Map<string, number>();
      for (const f of d.fields) {
        const k = `${f.disclosure}\u0000${f.class ?? 'unclassified'}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      for (const [k, n] of counts) {
        const [disclosure, cls] = k.split('\u0000') as [string, string];
        decisions.inc({ disclosure, class: cls }, n);
      }
    },
    text: () => registry.metrics(),
  };
}
