// The broker's queue and its record of changes: the stored events replayed at open, then each new
// change logged (access log), stored (enclave store) and applied, one at a time.

import type { Policy } from '../policy/index.js';
import type { KeyService, Store } from '../store/index.js';
import type { AccessLog } from '../log/index.js';
import { CordonError } from '../shared/errors.js';
import { iso, logRecord } from './log-records.js';
import type { Actor, BrokerEvent } from './model.js';
import { applyEvent, type BrokerState } from './reducer.js';

/** The store log (append-only) holding the broker's events. */
export const BROKER_EVENTS = 'access_broker';
const REPLAY_PAGE = 5000;

/** Folds every stored event into `state`, in order. */
export async function replayEvents(store: Store, state: BrokerState): Promise<void> {
  for (let after = 0; ; ) {
    const page = await store.readLog(BROKER_EVENTS, after, REPLAY_PAGE);
    for (const row of page) applyEvent(state, row.entry as BrokerEvent);
    if (page.length < REPLAY_PAGE) break;
    after = page[page.length - 1]!.index;
  }
}

export interface JournalOptions {
  readonly policy: Policy;
  readonly store: Store;
  readonly log: AccessLog;
  readonly keys: KeyService;
  readonly now: () => number;
  readonly state: BrokerState;
}

export interface Journal {
  /** Runs `fn` after every change queued before it has settled. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** Logs, stores and applies one event. MUST run inside `serial` (or `act`), after its checks. */
  commit(e: BrokerEvent, at: number, options?: { logged?: boolean }): Promise<void>;
  /** `serial` for a caller's act named `op`: a refusal (an `access.*` CordonError) is logged. */
  act<T>(op: string, actor: Actor, target: string | null, fn: () => Promise<T>): Promise<T>;
  /** Resolves when what is queued now has settled. */
  idle(): Promise<unknown>;
}

export function createJournal(options: JournalOptions): Journal {
  const { policy, store, log, keys, now, state } = options;

  // One change at a time: each is logged, stored and applied before the next is checked.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
  const commit = async (e: BrokerEvent, at: number, options: { logged?: boolean } = {}): Promise<void> => {
    const logged = options.logged !== false ? await log.append(logRecord(policy, keys, e, at)) : undefined;
    try {
      await store.append(BROKER_EVENTS, e);
    } catch (err) {
      // The log must not say a change happened that the store never took (W5): a record saying it
      // failed follows the one that announced it.
      if (logged)
        await log
          .append({ v: 1, at: iso(now()), type: 'broker.failed', event: e.type, follows: logged.index, policyVersion: policy.versionHash })
          .catch(() => undefined);
      throw err;
    }
    applyEvent(state, e);
  };
  /** A refused act is logged too (who tried what, and the code), then the error goes back unchanged. */
  const act = <T>(op: string, actor: Actor, target: string | null, fn: () => Promise<T>): Promise<T> =>
    serial(async () => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof CordonError && err.code.startsWith('access.')) {
          const t = now();
          await log.append({
            v: 1,
            at: iso(t),
            type: 'broker.refused',
            op,
            target: target === null ? null : target.slice(0, 100),
            principal: actor.principal.id,
            country: actor.country,
            site: actor.site,
            code: err.code,
            policyVersion: policy.versionHash,
          });
        }
        throw err;
      }
    });

  return { serial, commit, act, idle: () => chain };
}
