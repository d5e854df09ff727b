// applyEvent on its own: event sequences folded into an empty state, and the exact requests, grants
// and active-grant index that come out; no store, log or clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessRequest, BrokerEvent, Grant, Statement } from './model.js';
import { applyEvent, emptyState, eventProblem, noteUse, type BrokerState } from './reducer.js';

const T0 = Date.parse('2026-11-25T09:00:00Z');
const MIN = 60_000;
const HOUR = 3_600_000;
const SCOPE = { datasets: ['patients'], categories: ['user.health'], jurisdictions: ['US'] };

const request: AccessRequest = {
  id: 'req-1',
  principal: 'austin-engineer',
  scope: SCOPE,
  reason: 'incident',
  ticket: 'INC-1',
  comment: '',
  durationMs: HOUR,
  group: 'enclave-approvers',
  requestedAt: T0,
  expiresAt: T0 + HOUR,
  from: { country: 'US', site: 'austin' },
  digest: 'digest',
  state: 'pending',
  approvals: [],
  denial: undefined,
  grant: undefined,
  closedAt: undefined,
};

function statement(by: string, decision: Statement['decision'], at: number): Statement {
  return { by, decision, at, from: { country: 'US', site: 'austin' }, comment: '', note: `note by ${by}` };
}

function grant(id: string, at: number, change: Partial<Grant> = {}): Grant {
  return {
    id,
    request: 'req-1',
    principal: 'austin-engineer',
    scope: SCOPE,
    reason: 'incident',
    ticket: 'INC-1',
    justification: '',
    notBefore: at,
    expiresAt: at + HOUR,
    breakGlass: false,
    reviewBy: undefined,
    review: undefined,
    state: 'active',
    revokedAt: undefined,
    revokedBy: undefined,
    lastUsedAt: undefined,
    ...change,
  };
}

/** What decisions see of an active grant. */
function info(g: Grant) {
  return {
    id: g.id,
    datasets: SCOPE.datasets,
    categories: SCOPE.categories,
    subjects: undefined,
    jurisdictions: SCOPE.jurisdictions,
    notBefore: g.notBefore,
    expiresAt: g.expiresAt,
    reason: 'incident',
    ticket: 'INC-1',
    breakGlass: g.breakGlass,
  };
}

function fold(events: readonly BrokerEvent[], state: BrokerState = emptyState()): BrokerState {
  for (const e of events) applyEvent(state, e);
  return state;
}

const approvalA = statement('approver-a', 'approve', T0 + 5 * MIN);
const approvalB = statement('approver-b', 'approve', T0 + 7 * MIN);
const granted = grant('grant-1', T0 + 7 * MIN);
const approved: BrokerEvent[] = [
  { type: 'request', request },
  { type: 'approval', request: 'req-1', statement: approvalA },
  { type: 'approval', request: 'req-1', statement: approvalB },
  { type: 'grant', grant: granted },
];
const glass = grant('glass-1', T0 + 8 * MIN, { request: undefined, breakGlass: true });
const approvedRequest: AccessRequest = { ...request, state: 'approved', approvals: [approvalA, approvalB], grant: 'grant-1', closedAt: T0 + 7 * MIN };

const cases: { note: string; events: BrokerEvent[]; requests: AccessRequest[]; grants: Grant[]; active: [string, ReturnType<typeof info>[]][] }[] = [
  {
    note: 'a request with no decision is pending, and nobody holds a grant',
    events: [{ type: 'request', request }],
    requests: [request],
    grants: [],
    active: [],
  },
  {
    note: 'a pending request expires at the time its event carries',
    events: [
      { type: 'request', request },
      { type: 'expire', kind: 'request', id: 'req-1', at: T0 + HOUR },
    ],
    requests: [{ ...request, state: 'expired', closedAt: T0 + HOUR }],
    grants: [],
    active: [],
  },
  {
    note: 'approvals accumulate; the grant closes the request as approved and is active for its principal',
    events: approved,
    requests: [approvedRequest],
    grants: [granted],
    active: [['austin-engineer', [info(granted)]]],
  },
  {
    note: 'request, approve, expire: the grant is expired and leaves the index, the request stays approved',
    events: [...approved, { type: 'expire', kind: 'grant', id: 'grant-1', at: T0 + 7 * MIN + HOUR }],
    requests: [approvedRequest],
    grants: [{ ...granted, state: 'expired' }],
    active: [],
  },
  {
    note: "a revoke ends one grant, says who and when, and leaves the principal's other grant active",
    events: [...approved, { type: 'grant', grant: glass }, { type: 'revoke', grant: 'grant-1', at: T0 + 9 * MIN, by: 'approver-a' }],
    requests: [approvedRequest],
    grants: [{ ...granted, state: 'revoked', revokedAt: T0 + 9 * MIN, revokedBy: 'approver-a' }, glass],
    active: [['austin-engineer', [info(glass)]]],
  },
  {
    note: "a denial closes the request at the denier's time; a withdrawal at its own",
    events: [
      { type: 'request', request },
      { type: 'denial', request: 'req-1', statement: statement('approver-a', 'deny', T0 + 3 * MIN) },
      { type: 'request', request: { ...request, id: 'req-2' } },
      { type: 'withdraw', request: 'req-2', at: T0 + 4 * MIN },
    ],
    requests: [
      { ...request, state: 'denied', denial: statement('approver-a', 'deny', T0 + 3 * MIN), closedAt: T0 + 3 * MIN },
      { ...request, id: 'req-2', state: 'withdrawn', closedAt: T0 + 4 * MIN },
    ],
    grants: [],
    active: [],
  },
  {
    note: 'use events keep the latest time, whatever their order; a use of an unknown grant changes nothing',
    events: [
      ...approved,
      { type: 'use', grant: 'grant-1', at: T0 + 30 * MIN },
      { type: 'use', grant: 'grant-1', at: T0 + 20 * MIN },
      { type: 'use', grant: 'grant-9', at: T0 },
    ],
    requests: [approvedRequest],
    grants: [{ ...granted, lastUsedAt: T0 + 30 * MIN }],
    active: [['austin-engineer', [info(granted)]]],
  },
];

for (const c of cases) {
  test(c.note, () => {
    const state = fold(c.events);
    assert.deepEqual([...state.requests.values()], c.requests);
    assert.deepEqual([...state.grants.values()], c.grants);
    assert.deepEqual([...state.active], c.active);
  });
}

test('records handed out before a change keep saying what they said', () => {
  const state = fold(approved);
  const before = state.grants.get('grant-1')!;
  applyEvent(state, { type: 'revoke', grant: 'grant-1', at: T0 + 9 * MIN, by: 'approver-a' });
  assert.equal(before.state, 'active');
  assert.equal(state.grants.get('grant-1')!.state, 'revoked');
});

test('an event naming a request no event made throws, and changes nothing', () => {
  const state = emptyState();
  assert.throws(() => applyEvent(state, { type: 'approval', request: 'req-1', statement: approvalA }), TypeError);
  assert.deepEqual(state, emptyState());
});

test('noteUse sets the time it is given, even an earlier one, and is false for an unknown grant', () => {
  const state = fold([...approved, { type: 'use', grant: 'grant-1', at: T0 + 30 * MIN }]);
  assert.equal(noteUse(state, 'grant-1', T0 + 10 * MIN), true);
  assert.equal(state.grants.get('grant-1')!.lastUsedAt, T0 + 10 * MIN);
  assert.equal(noteUse(state, 'grant-9', T0), false);
  assert.deepEqual([...state.grants.keys()], ['grant-1']);
});

test('eventProblem names what makes a stored event unfoldable, by member and type, never by value', () => {
  const state = fold(approved);
  const cases: [unknown, string | undefined][] = [
    ...approved.map((e): [unknown, undefined] => [e, undefined]),
    ['a string', 'is not an event (an object with a string type)'],
    [{ type: 7 }, 'is not an event (an object with a string type)'],
    [{ type: 'promote', who: 'x' }, 'has a type the broker does not write'],
    [{ type: 'approval', request: 'req-never', statement: approvalA }, 'approval names a request no earlier event made'],
    [{ type: 'denial', request: 'req-1' }, 'denial has no statement'],
    [
      {
        type: 'request',
        request: { id: 'req-2', principal: 'p', approvals: [], scope: { datasets: ['users'], categories: 'user.contact', jurisdictions: [] } },
      },
      "request's scope.categories is not a list of names",
    ],
    [
      { type: 'grant', grant: { id: 'g-x', principal: 'p', notBefore: 0, expiresAt: 1, scope: { datasets: 'users', categories: [], jurisdictions: [] } } },
      "grant's scope.datasets is not a list of names",
    ],
    [
      { type: 'grant', grant: { id: 'g-x', principal: 'p', notBefore: 0, expiresAt: '+15125550101', scope: {} } },
      "grant's notBefore or expiresAt is not a time",
    ],
    [
      { type: 'grant', grant: { id: 'g-x', principal: 'p', request: 'req-never', notBefore: 0, expiresAt: 1, scope: {} } },
      'grant answers a request no earlier event made',
    ],
    [
      {
        type: 'grant',
        grant: { id: 'g-x', principal: 'p', notBefore: 0, expiresAt: 1, scope: { datasets: [], categories: [], jurisdictions: [], subjects: 'all' } },
      },
      "grant's scope.subjects is not a list of keys",
    ],
    [{ type: 'revoke', grant: 'g-never', at: 1, by: 'x' }, 'revoke names a grant no earlier event made'],
    [{ type: 'review', grant: 'grant-1', statement: approvalA }, undefined],
    [{ type: 'expire', kind: 'key', id: 'k', at: 1 }, 'expire names neither a request nor a grant'],
    [{ type: 'expire', kind: 'grant', id: 'req-1', at: 1 }, 'expire names a grant no earlier event made'],
    [{ type: 'use', grant: 'g-never', at: 1 }, undefined],
    [{ type: 'use', grant: 'grant-1' }, 'use names no grant and time'],
  ];
  for (const [i, [event, problem]] of cases.entries()) assert.equal(eventProblem(state, event), problem, `case ${i}`);
});
