import { useCallback, useEffect, useState } from 'react';
import { api } from '../api';
import type { PageProps } from '../App';

interface Req {
  id: string;
  principal: string;
  state: string;
  reason: string;
  ticket: string;
  durationS: number;
  scope: { datasets: string[]; categories: string[]; subjects?: string[]; jurisdictions: string[] };
  approvals: { by: string }[];
  grant: string | null;
}
interface Grant {
  id: string;
  principal: string;
  state: string;
  reason: string;
  breakGlass: boolean;
  secondsLeft: number;
  review: { by: string; verdict?: string } | null;
  reviewBy: string | null;
  justification: string | null;
  notBefore: string | null;
  expiresAt: string | null;
  revokedAt?: string | null;
  ticket?: string;
}
interface BreakGlassRules {
  allowed: string[];
  maxSeconds: number;
  reviewers: string;
  reviewWithinSeconds: number;
  alerts: string;
}

/** A row saying a table is empty, across all its columns. */
function Empty({ cols, children }: { cols: number; children: string }) {
  return (
    <tr>
      <td colSpan={cols} className="empty">
        {children}
      </td>
    </tr>
  );
}

/** Each grant as a bar from its start to its end (or revocation), on one axis with now marked. */
function Timeline({ grants }: { grants: Grant[] }) {
  const spans = grants
    .filter((g) => g.expiresAt)
    .map((g) => {
      const start = Date.parse(g.notBefore ?? g.expiresAt!) || Date.parse(g.expiresAt!);
      const end = g.revokedAt ? Date.parse(g.revokedAt) : Date.parse(g.expiresAt!);
      return { g, start, end };
    });
  if (spans.length === 0) return <p className="muted">No grants to draw.</p>;
  const now = Date.now();
  const lo = Math.min(now, ...spans.map((s) => s.start));
  const hi = Math.max(now, ...spans.map((s) => s.end));
  const x = (t: number) => `${((t - lo) / Math.max(1, hi - lo)) * 100}%`;
  return (
    <figure className="timeline" aria-label="Grants timeline">
      <figcaption className="muted">
        {new Date(lo).toLocaleString()} → {new Date(hi).toLocaleString()}
      </figcaption>
      {spans.map(({ g, start, end }) => (
        <div className="lane" key={g.id} data-timeline={g.id}>
          <span>
            {g.principal} · {g.id}
          </span>
          <span className="span" title={`${new Date(start).toLocaleString()} – ${new Date(end).toLocaleString()} (${g.state})`}>
            <i
              className={`${g.breakGlass ? 'break_glass' : ''} ${g.state === 'active' ? '' : 'ended'}`}
              style={{ left: x(start), width: `calc(${x(end)} - ${x(start)} + 2px)` }}
            />
            <span className="now" style={{ left: x(now) }} aria-hidden="true" />
          </span>
        </div>
      ))}
    </figure>
  );
}

function duration(s: number): string {
  return s >= 3600 && s % 3600 === 0 ? `${s / 3600}h` : s >= 60 ? `${Math.round(s / 60)} min` : `${s}s`;
}

function Countdown({ seconds }: { seconds: number }) {
  const [left, setLeft] = useState(seconds);
  useEffect(() => {
    setLeft(seconds);
    const t = setInterval(() => setLeft((s) => Math.max(0, s - 1)), 1000);
    return () => clearInterval(t);
  }, [seconds]);
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  return (
    <span role="timer" aria-label={`${left} seconds left`}>
      {h}h {String(m).padStart(2, '0')}m {String(left % 60).padStart(2, '0')}s
    </span>
  );
}

export function AccessPage({ session, info }: PageProps) {
  const [mine, setMine] = useState<Req[]>([]);
  const [toDecide, setToDecide] = useState<Req[]>([]);
  const [grants, setGrants] = useState<Grant[]>([]);
  const [message, setMessage] = useState<string>();
  const [form, setForm] = useState({
    dataset: 'users',
    category: 'user.contact',
    subject: 'demo-us-1',
    reason: info.reasons[0]?.code ?? 'USER_SUPPORT',
    ticket: '',
    duration: '1h',
  });
  const [comment, setComment] = useState('');
  const [breakGlass, setBreakGlass] = useState<BreakGlassRules | null>();

  const load = useCallback(async () => {
    const [m, all, g] = await Promise.all([
      api<{ requests: Req[] }>(session, 'GET', '/v1/access/requests?mine=true'),
      api<{ requests: Req[] }>(session, 'GET', '/v1/access/requests?state=pending'),
      api<{ grants: Grant[] }>(session, 'GET', '/v1/access/grants'),
    ]);
    setMine(m.requests);
    setToDecide(all.requests.filter((r) => r.principal !== session.principal));
    setGrants(g.grants);
  }, [session]);
  useEffect(() => {
    api<{ breakGlass: BreakGlassRules | null }>(session, 'GET', '/v1/console/policy').then(
      (p) => setBreakGlass(p.breakGlass),
      () => setBreakGlass(null),
    );
  }, [session]);
  const openReviews = grants.filter((g) => g.breakGlass && !g.review);
  useEffect(() => {
    load().catch((e: Error) => setMessage(e.message));
  }, [load]);

  const act = async (what: () => Promise<unknown>, done: string) => {
    try {
      await what();
      setMessage(done);
      await load();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  /** A break-glass grant's review, as its approvers give it. */
  const review = (grant: string, verdict: 'justified' | 'unjustified') =>
    void act(() => api(session, 'POST', `/v1/access/grants/${grant}/review`, { verdict, comment: comment || 'reviewed in the console' }), `reviewed ${grant}`);

  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">Access</h2>
      {message && <p role="status">{message}</p>}
      <h3>Ask for access</h3>
      <form
        className="row"
        aria-label="New access request"
        onSubmit={(e) => {
          e.preventDefault();
          void act(
            () =>
              api(session, 'POST', '/v1/access/requests', {
                datasets: [form.dataset],
                categories: [form.category],
                subjects: [form.subject],
                reason: form.reason,
                ticket: form.ticket,
                duration: form.duration,
              }),
            'request sent',
          );
        }}
      >
        <label>
          Dataset
          <input aria-label="Request dataset" value={form.dataset} onChange={(e) => setForm({ ...form, dataset: e.target.value })} />
        </label>
        <label>
          Category
          <input aria-label="Request category" value={form.category} onChange={(e) => setForm({ ...form, category: e.target.value })} />
        </label>
        <label>
          Subject
          <input aria-label="Request subject" value={form.subject} onChange={(e) => setForm({ ...form, subject: e.target.value })} />
        </label>
        <label>
          Reason
          <select aria-label="Request reason" value={form.reason} onChange={(e) => setForm({ ...form, reason: e.target.value })}>
            {info.reasons.map((r) => (
              <option key={r.code}>{r.code}</option>
            ))}
          </select>
        </label>
        <label>
          Ticket
          <input aria-label="Request ticket" value={form.ticket} onChange={(e) => setForm({ ...form, ticket: e.target.value })} />
        </label>
        <label>
          Duration
          <input aria-label="Request duration" value={form.duration} onChange={(e) => setForm({ ...form, duration: e.target.value })} />
        </label>
        <button type="submit">Request</button>
      </form>
      <h3>My requests</h3>
      <div className="scroll">
        <table aria-label="My requests">
          <thead>
            <tr>
              <th>Request</th>
              <th>State</th>
              <th>Scope</th>
              <th>Reason</th>
              <th>Approvals</th>
            </tr>
          </thead>
          <tbody>
            {mine.length === 0 && <Empty cols={5}>You have made no access request.</Empty>}
            {mine.map((r) => (
              <tr key={r.id} data-request={r.id}>
                <td>{r.id}</td>
                <td>{r.state}</td>
                <td>
                  {r.scope.datasets.join(', ')} · {r.scope.categories.join(', ')} · {r.scope.subjects?.join(', ') ?? r.scope.jurisdictions.join(', ')}
                </td>
                <td>
                  {r.reason} ({r.ticket})
                </td>
                <td>{r.approvals.map((a) => a.by).join(', ') || 'none'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Requests to decide</h3>
      <label>
        Comment for a decision
        <input aria-label="Decision comment" value={comment} onChange={(e) => setComment(e.target.value)} />
      </label>
      <div className="scroll">
        <table aria-label="Requests to decide">
          <thead>
            <tr>
              <th>Request</th>
              <th>From</th>
              <th>Scope</th>
              <th>Reason</th>
              <th>Approvals</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {toDecide.length === 0 && <Empty cols={6}>No request is waiting for a decision.</Empty>}
            {toDecide.map((r) => (
              <tr key={r.id} data-request={r.id}>
                <td>{r.id}</td>
                <td>{r.principal}</td>
                <td>
                  {r.scope.datasets.join(', ')} · {r.scope.categories.join(', ')} · {r.scope.subjects?.join(', ') ?? r.scope.jurisdictions.join(', ')}
                </td>
                <td>
                  {r.reason} ({r.ticket}), {r.durationS}s
                </td>
                <td>{r.approvals.map((a) => a.by).join(', ') || 'none'}</td>
                <td>
                  <div className="row">
                    <button
                      type="button"
                      onClick={() =>
                        void act(() => api(session, 'POST', `/v1/access/requests/${r.id}/approve`, comment ? { comment } : {}), `approved ${r.id}`)
                      }
                    >
                      Approve
                    </button>
                    <button
                      type="button"
                      className="secondary"
                      onClick={() =>
                        void act(
                          () => api(session, 'POST', `/v1/access/requests/${r.id}/deny`, { comment: comment || 'denied in the console' }),
                          `denied ${r.id}`,
                        )
                      }
                    >
                      Deny
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <section className="panel" aria-labelledby="break-glass-title" data-testid="break-glass">
        <h3 id="break-glass-title">Break-glass</h3>
        {breakGlass === undefined ? (
          <p>Loading…</p>
        ) : breakGlass === null ? (
          <p>This deployment allows no break-glass access (cordon.yaml access.break_glass).</p>
        ) : (
          <>
            <p>
              <strong>Who may:</strong> {breakGlass.allowed.join(', ') || 'nobody'} (teams include their sub-teams), for at most{' '}
              {duration(breakGlass.maxSeconds)}, with a reason and a written justification.
            </p>
            <p>
              <strong>What it costs:</strong> the grant is written to the access log and alerted ({breakGlass.alerts}) at once; approvers of{' '}
              <strong>{breakGlass.reviewers}</strong> must review it within {duration(breakGlass.reviewWithinSeconds)}; until then, or if judged unjustified, it
              counts as an open violation on the Overview and in the report.
            </p>
          </>
        )}
        <h4>Open reviews</h4>
        {openReviews.length === 0 ? (
          <p className="muted" data-testid="no-open-reviews">
            No break-glass grant is waiting for review.
          </p>
        ) : (
          <ul aria-label="Open break-glass reviews">
            {openReviews.map((g) => (
              <li key={g.id} data-review={g.id}>
                {g.id} by {g.principal} ({g.reason}){g.reviewBy ? `, review due ${new Date(g.reviewBy).toLocaleString()}` : ''}
                {g.justification ? ` — “${g.justification}”` : ''}
              </li>
            ))}
          </ul>
        )}
      </section>
      <h3>Grants timeline</h3>
      <Timeline grants={grants} />
      <h3>Grants</h3>
      <div className="scroll">
        <table aria-label="Grants">
          <thead>
            <tr>
              <th>Grant</th>
              <th>Principal</th>
              <th>State</th>
              <th>Reason</th>
              <th>Expires in</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {grants.length === 0 && <Empty cols={6}>No grant you may see.</Empty>}
            {grants.map((g) => (
              <tr key={g.id} data-grant={g.id}>
                <td>
                  {g.id}
                  {g.breakGlass ? ' (break-glass)' : ''}
                </td>
                <td>{g.principal}</td>
                <td>{g.state}</td>
                <td>{g.reason}</td>
                <td>{g.state === 'active' ? <Countdown seconds={g.secondsLeft} /> : '—'}</td>
                <td>
                  <div className="row">
                    {g.breakGlass && !g.review && g.principal !== session.principal && (
                      <>
                        <button type="button" onClick={() => review(g.id, 'justified')}>
                          Justified
                        </button>
                        <button type="button" className="secondary" onClick={() => review(g.id, 'unjustified')}>
                          Unjustified
                        </button>
                      </>
                    )}
                    {g.state === 'active' && (
                      <button
                        type="button"
                        className="secondary"
                        onClick={() => void act(() => api(session, 'POST', `/v1/access/grants/${g.id}/revoke`, {}), `revoked ${g.id}`)}
                      >
                        Revoke
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
