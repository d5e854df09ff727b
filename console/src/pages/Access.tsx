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
  review: { by: string } | null;
  reviewBy: string | null;
  justification: string | null;
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
      <h3>Requests to decide</h3>
      <label>
        Comment for a decision
        <input aria-label="Decision comment" value={comment} onChange={(e) => setComment(e.target.value)} />
      </label>
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
              <td className="row">
                <button
                  type="button"
                  onClick={() => void act(() => api(session, 'POST', `/v1/access/requests/${r.id}/approve`, comment ? { comment } : {}), `approved ${r.id}`)}
                >
                  Approve
                </button>
                <button
                  type="button"
                  className="secondary"
                  onClick={() =>
                    void act(() => api(session, 'POST', `/v1/access/requests/${r.id}/deny`, { comment: comment || 'denied in the console' }), `denied ${r.id}`)
                  }
                >
                  Deny
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Grants</h3>
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
              <td className="row">
                {g.breakGlass && !g.review && g.principal !== session.principal && (
                  <>
                    <button
                      type="button"
                      onClick={() =>
                        void act(
                          () =>
                            api(session, 'POST', `/v1/access/grants/${g.id}/review`, { verdict: 'justified', comment: comment || 'reviewed in the console' }),
                          `reviewed ${g.id}`,
                        )
                      }
                    >
                      Justified
                    </button>
                    <button
                      type="button"
                      className="secondary"
                      onClick={() =>
                        void act(
                          () =>
                            api(session, 'POST', `/v1/access/grants/${g.id}/review`, { verdict: 'unjustified', comment: comment || 'reviewed in the console' }),
                          `reviewed ${g.id}`,
                        )
                      }
                    >
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
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
