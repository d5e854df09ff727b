// A grant's use, for the dormant-grant review: noted in memory at once, and stored as a `use` event
// at most every USE_PERSIST_MS a grant, without the decision waiting for the store.

import type { Journal } from './journal.js';
import type { BrokerEvent } from './model.js';
import { noteUse, type BrokerState } from './reducer.js';

/** A grant's use is persisted at most this often (for the dormant-grant review). */
const USE_PERSIST_MS = 10 * 60_000;

export interface UsageOptions {
  readonly journal: Journal;
  readonly state: BrokerState;
  readonly now: () => number;
}

/** Notes that a decision used a grant; an unknown grant is ignored. */
export function createUsage(options: UsageOptions): (grantId: string) => void {
  const { journal, state, now } = options;
  const usePersisted = new Map<string, number>();

  return (grantId) => {
    const t = now();
    if (!noteUse(state, grantId, t)) return;
    if (t - (usePersisted.get(grantId) ?? 0) < USE_PERSIST_MS) return;
    usePersisted.set(grantId, t);
    // In the journal's turn, like every stored event: processes sharing the store store them in order.
    const e: BrokerEvent = { type: 'use', grant: grantId, at: t };
    void journal.serial(() => journal.commit(e, t, { logged: false })).catch(() => usePersisted.delete(grantId));
  };
}
