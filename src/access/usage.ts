// A grant's use, for the dormant-grant review: noted in memory at once, and stored as a `use` event
// at most every USE_PERSIST_MS a grant, without the decision waiting for the store.

import type { Store } from '../store/index.js';
import { BROKER_EVENTS } from './journal.js';
import type { BrokerEvent } from './model.js';
import { noteUse, type BrokerState } from './reducer.js';

/** A grant's use is persisted at most this often (for the dormant-grant review). */
const USE_PERSIST_MS = 10 * 60_000;

export interface UsageOptions {
  readonly store: Store;
  readonly state: BrokerState;
  readonly now: () => number;
}

/** Notes that a decision used a grant; an unknown grant is ignored. */
export function createUsage(options: UsageOptions): (grantId: string) => void {
  const { store, state, now } = options;
  const usePersisted = new Map<string, number>();

  return (grantId) => {
    const t = now();
    if (!noteUse(state, grantId, t)) return;
    if (t - (usePersisted.get(grantId) ?? 0) < USE_PERSIST_MS) return;
    usePersisted.set(grantId, t);
    void store.append(BROKER_EVENTS, { type: 'use', grant: grantId, at: t } satisfies BrokerEvent).catch(() => usePersisted.delete(grantId));
  };
}
