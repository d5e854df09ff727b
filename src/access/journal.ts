// The broker's queue and its record of changes: the stored events replayed at open, then each new
// change logged (access log), stored (enclave store) and applied, one at a time.
//
// Several processes may share the store (gateway workers, gateways of one region). Each act runs
// under the store's lock `access_broker` (an advisory lock on PostgreSQL): it first reads the events
// other processes stored since its last read, then checks against that state, then logs and stores.
// So the events are stored one act at a time, in index order, and a reader that holds no lock sees
// a prefix of them. Between acts each process reads new events every `refreshEveryMs`: a grant or a
// revocation made through one process is honoured by the others within that bound.

import type { Policy } from '../policy/index.js';
import type { KeyService, Store } from '../store/index.js';
import type { AccessLog } from '../log/index.js';
import { CordonError } from '../shared/errors.js';
import { iso, logRecord } from './log-records.js';
import type { Actor, BrokerEvent } from './model.js';
import { applyEvent, eventProblem, type BrokerState } from './reducer.js';

/** The store log (append-only) holding the broker's events. */
export const BROKER_EVENTS = 'access_broker';
const REPLAY_PAGE = 5000;

/**
 * Refusals of input that is malformed (a missing ticket, an unknown reason, dataset or category, a
 * duration that is no duration) are not logged: bad input changes nothing (W7), and a log that took
 * them could be grown without bound by anyone. A well-formed act refused by the rules (self-approval,
 * an approver outside the group, a duration over the cap) is an attempt, and is logged.
 */
const MALFORMED: ReadonlySet<string> = new Set(['access.invalid_request', 'access.invalid_scope', 'access.unknown_reason']);

/** How often a process reads the events other processes stored (the bound on a grant's reach). */
export const DEFAULT_REFRESH_MS = 500;

/**
 * A stored broker event that cannot be folded: the journal was damaged outside cordon. The broker
 * refuses every act until it is repaired (fail closed); `foldedTo` is the last event folded before it.
 */
export class BrokerJournalError extends CordonError {
  constructor(
    readonly index: number,
    readonly foldedTo: number,
    problem: string,
  ) {
    super(
      'access.journal_damaged',
      `the access broker's stored event ${index} ${problem}; the broker acts on nothing until the journal (${BROKER_EVENTS}) is repaired`,
    );
    this.name = 'BrokerJournalError';
  }
}

/**
 * Folds the stored events after index `after` into `state`, in order; returns the last index read.
 * Throws BrokerJournalError at the first event that cannot be folded, with every event before it
 * folded (and none twice when the caller resumes from its `foldedTo`).
 */
export async function replayEvents(store: Store, state: BrokerState, after = 0): Promise<number> {
  for (;;) {
    const page = await store.readLog(BROKER_EVENTS, after, REPLAY_PAGE);
    for (const row of page) {
      const problem = eventProblem(state, row.entry);
      if (problem !== undefined) throw new BrokerJournalError(row.index, after, problem);
      applyEvent(state, row.entry as BrokerEvent);
      after = row.index;
    }
    if (page.length < REPLAY_PAGE) return after;
  }
}

export interface JournalOptions {
  readonly policy: Policy;
  readonly store: Store;
  readonly log: AccessLog;
  readonly keys: KeyService;
  readonly now: () => number;
  readonly state: BrokerState;
  /** The index of the last stored event folded into `state`. */
  readonly replayedTo: number;
  /** Reads other processes' events this often between acts (0: only at each act). */
  readonly refreshEveryMs?: number;
}

export interface Journal {
  /** Runs `fn` after every change queued before it has settled. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** Logs, stores and applies one event. MUST run inside `serial` (or `act`), after its checks. */
  commit(e: BrokerEvent, at: number, options?: { logged?: boolean }): Promise<void>;
  /** `serial` for a caller's act named `op`: a refusal (an `access.*` CordonError) is logged. */
  act<T>(op: string, actor: Actor, target: string | null, fn: () => Promise<T>): Promise<T>;
  /** Reads the events other processes stored since the last read (without waiting for this process's acts). */
  refresh(): Promise<void>;
  /** Resolves when what is queued now has settled. */
  idle(): Promise<unknown>;
  /** Stops the timed refresh. */
  stop(): void;
}

export function createJournal(options: JournalOptions): Journal {
  const { policy, store, log, keys, now, state } = options;
  let readTo = options.replayedTo;
  // Folding stored events into the state, whether read (catchUp) or just stored (commit), takes
  // turns apart from the acts: the timed read must not wait behind an act queued for the store's
  // lock (another process may hold it for long), or a revocation made elsewhere would not reach
  // this process's decisions in time. An act of this process holds the lock while it checks and
  // commits, so no other process stores meanwhile, and a read between its check and its commit
  // finds nothing new.
  let folding: Promise<unknown> = Promise.resolve();
  const fold = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = folding.then(fn, fn);
    folding = run.catch(() => undefined);
    return run;
  };
  const catchUp = () =>
    fold(async () => {
      try {
        readTo = await replayEvents(store, state, readTo);
      } catch (err) {
        // What was folded before the damaged event stays folded, and is not folded again.
        if (err instanceof BrokerJournalError) readTo = err.foldedTo;
        throw err;
      }
    });

  // One change at a time: each is logged, stored and applied before the next is checked, and, under
  // the store's lock, after every change other processes stored before it.
  let chain: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
  const serial = <T>(fn: () => Promise<T>): Promise<T> =>
    inTurn(() =>
      store.exclusive(BROKER_EVENTS, async () => {
        await catchUp();
        return fn();
      }),
    );
  // Reading needs no lock: events are stored one act at a time, so a reader sees a prefix of them.
  const refresh = catchUp;
  const every = options.refreshEveryMs ?? DEFAULT_REFRESH_MS;
  const timer = every > 0 ? setInterval(() => void refresh().catch(() => undefined), every) : undefined;
  timer?.unref();

  const commit = async (e: BrokerEvent, at: number, options: { logged?: boolean } = {}): Promise<void> => {
    const logged = options.logged !== false ? await log.append(logRecord(policy, keys, e, at)) : undefined;
    // Stored and folded in one turn, so a timed read cannot fold it first and this a second time.
    await fold(async () => {
      let index: number;
      try {
        index = await store.append(BROKER_EVENTS, e);
      } catch (err) {
        // The log must not say a change happened that the store never took (W5): a record saying it
        // failed follows the one that announced it.
        if (logged)
          await log
            .append({ v: 1, at: iso(now()), type: 'broker.failed', event: e.type, follows: logged.index, policyVersion: policy.versionHash })
            .catch(() => undefined);
        throw err;
      }
      readTo = Math.max(readTo, index);
      applyEvent(state, e);
    });
  };
  /** A refused act is logged too (who tried what, and the code), then the error goes back unchanged. */
  const act = <T>(op: string, actor: Actor, target: string | null, fn: () => Promise<T>): Promise<T> =>
    serial(async () => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof CordonError && err.code.startsWith('access.') && !MALFORMED.has(err.code)) {
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

  return {
    serial,
    commit,
    act,
    refresh,
    idle: () => chain,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
