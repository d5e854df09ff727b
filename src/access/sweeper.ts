// Expiry: pending requests and active grants past their time end by an `expire` event, checked
// before each act of the broker and on a timer.

import type { Journal } from './journal.js';
import type { BrokerState } from './reducer.js';

const SWEEP_EVERY_MS = 1000;

export interface SweeperOptions {
  readonly state: BrokerState;
  readonly journal: Journal;
  readonly now: () => number;
  /** Sweeps this often (0: only when the broker is used); SWEEP_EVERY_MS when undefined. */
  readonly everyMs: number | undefined;
}

export interface Sweeper {
  /** Expires what is due now. MUST run inside the journal's queue. */
  expireDue(): Promise<void>;
  /** Queues `expireDue`; resolves when recorded. */
  sweep(): Promise<void>;
  stop(): void;
}

export function startSweeper(options: SweeperOptions): Sweeper {
  const { state, journal, now } = options;
  const { requests, grants } = state;
  const { commit, serial } = journal;

  const expireDue = async (): Promise<void> => {
    const t = now();
    for (const r of requests.values()) if (r.state === 'pending' && r.expiresAt <= t) await commit({ type: 'expire', kind: 'request', id: r.id, at: t }, t);
    for (const g of grants.values()) if (g.state === 'active' && g.expiresAt <= t) await commit({ type: 'expire', kind: 'grant', id: g.id, at: t }, t);
  };
  // Taking the store's lock (shared with other processes) only when something is due by this
  // process's state: a sweep with nothing to expire costs no round trip.
  const due = () => {
    const t = now();
    for (const r of requests.values()) if (r.state === 'pending' && r.expiresAt <= t) return true;
    for (const g of grants.values()) if (g.state === 'active' && g.expiresAt <= t) return true;
    return false;
  };
  const sweep = () => (due() ? serial(expireDue) : Promise.resolve());
  const sweepEvery = options.everyMs ?? SWEEP_EVERY_MS;
  const timer = sweepEvery > 0 ? setInterval(() => void sweep().catch(() => undefined), sweepEvery) : undefined;
  timer?.unref();

  return {
    expireDue,
    sweep,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
