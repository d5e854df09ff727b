// The access broker: requests with a reason, a ticket and a capped duration; N-of-M approvals from an
// approver group, each a signed statement; grants scoped to datasets, categories and subjects that
// stop at expiry; break-glass that alerts and must be reviewed. Every change is first an entry of
// the verifiable access log, then an event in the enclave store, then state (log before effect).

import { EventEmitter } from 'node:events';
import type { GrantInfo, Policy } from '../policy/index.js';
import type { KeyService, Store } from '../store/index.js';
import { parseSignerKey, type AccessLog } from '../log/index.js';
import { createAlerter } from './alerts.js';
import { createCommands } from './commands.js';
import { createJournal, replayEvents } from './journal.js';
import type { SubjectOpener } from './input.js';
import type { AccessRequest, Actor, Grant } from './model.js';
import { createQueries, type BrokerStats, type GrantFlag } from './queries.js';
import { emptyState } from './reducer.js';
import { startSweeper } from './sweeper.js';
import { createUsage } from './usage.js';

export { BROKER_EVENTS } from './journal.js';
export type { BrokerStats, GrantFlag } from './queries.js';

export interface BrokerOptions {
  readonly policy: Policy;
  readonly store: Store;
  readonly log: AccessLog;
  readonly keys: KeyService;
  /** The signed-note private key that signs approval and review statements. */
  readonly signerKey: string;
  readonly now?: () => number;
  /** Overrides cordon.yaml access.break_glass.webhook. */
  readonly webhook?: string;
  readonly fetch?: typeof fetch;
  /** Sweeps expired requests and grants this often (0: only when the broker is used). */
  readonly sweepEveryMs?: number;
  /**
   * Reads the changes other processes sharing the store made this often (default 500 ms; 0: only
   * before each change of its own). A grant or revocation made elsewhere reaches decisions here
   * within this bound.
   */
  readonly refreshEveryMs?: number;
}

export interface AccessBroker {
  /** The verifier key of approval statements (`name+hex8+base64`). */
  readonly vkey: string;
  /**
   * `subjects` opens the subjects the caller sent (its tokens, or keys it may see in clear) to stored
   * keys (W6); without it they are taken as stored keys (the server's own acts, tests of the broker alone).
   */
  request(actor: Actor, body: unknown, subjects?: SubjectOpener): Promise<AccessRequest>;
  approve(actor: Actor, id: string, body: unknown): Promise<AccessRequest>;
  deny(actor: Actor, id: string, body: unknown): Promise<AccessRequest>;
  /** Withdraws a pending request, or revokes a grant (by grant id or by the request that produced it). */
  revoke(actor: Actor, id: string, body: unknown): Promise<{ request?: AccessRequest; grant?: Grant }>;
  breakGlass(actor: Actor, body: unknown, subjects?: SubjectOpener): Promise<Grant>;
  review(actor: Actor, grantId: string, body: unknown): Promise<Grant>;
  getRequest(actor: Actor, id: string): AccessRequest;
  getGrant(actor: Actor, id: string): Grant;
  listRequests(actor: Actor, filter: { state?: string; mine?: boolean }): AccessRequest[];
  listGrants(actor: Actor, filter: { state?: string; mine?: boolean }): Grant[];
  /** The active grants of a principal, for decisions. */
  grantsOf(principal: string): readonly GrantInfo[];
  /** Notes that a decision used a grant (dormant-grant review). */
  used(grantId: string): void;
  /** Flags from grants and approvals: dormant grants, rubber-stamp approvers, break-glass unreviewed. */
  grantFlags(): GrantFlag[];
  /** Counts for metrics: active grants, pending requests, unreviewed break-glass, grants made/revoked/expired. */
  stats(): BrokerStats;
  /** Expires what is due now; resolves when recorded. */
  sweep(): Promise<void>;
  /** Reads the changes other processes sharing the store made since the last read. */
  refresh(): Promise<void>;
  /** Emits 'alert' ({grant, delivered, status}) after each break-glass webhook delivery attempt. */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

/** Opens the broker on the replay of the events in `options.store`, then starts its sweeper (`close` stops it). */
export async function openAccessBroker(options: BrokerOptions): Promise<AccessBroker> {
  const { policy, store, log, keys } = options;
  const now = options.now ?? Date.now;
  const signer = parseSignerKey(options.signerKey);
  const events = new EventEmitter();
  const sendAlert = createAlerter({
    policy,
    log,
    now,
    webhook: options.webhook ?? policy.deployment.access.breakGlass?.webhook,
    fetch: options.fetch ?? fetch,
    events,
  });

  const state = emptyState();
  const replayedTo = await replayEvents(store, state);
  const journal = createJournal({ policy, store, log, keys, now, state, replayedTo, refreshEveryMs: options.refreshEveryMs });
  const sweeper = startSweeper({ state, journal, now, everyMs: options.sweepEveryMs });

  return {
    vkey: signer.vkey,
    events,
    ...createCommands({ policy, keys, state, journal, now, signer, expireDue: sweeper.expireDue, sendAlert }),
    ...createQueries({ policy, state, now }),
    used: createUsage({ journal, state, now }),
    sweep: sweeper.sweep,
    refresh: journal.refresh,
    async close() {
      sweeper.stop();
      journal.stop();
      await journal.idle();
    },
  };
}
