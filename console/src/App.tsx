// The console: a persona picker (demo), a sign-in at the OpenID provider, or a bearer token, and one page per task. Pages are chosen
// by the URL's hash (#/data, #/access, …) so links and the back button work without a server router.
import { useEffect, useState } from 'react';
import { age, api, type Info, type Persona, type Session, type Status } from './api';
import { finishSignIn, malformedToken, sessionFor, signOut, startSignIn, storedToken, type OidcSettings } from './signin';
import { Overview } from './pages/Overview';
import { DataPage } from './pages/Data';
import { AccessPage } from './pages/Access';
import { LogPage } from './pages/Log';
import { FlowsPage } from './pages/Flows';
import { PolicyPage } from './pages/Policy';
import { FindingsPage } from './pages/Findings';

const PAGES = [
  ['overview', 'Overview'],
  ['data', 'Data'],
  ['access', 'Access'],
  ['log', 'Log'],
  ['flows', 'Flows'],
  ['policy', 'Policy'],
  ['findings', 'Findings'],
] as const;
type Page = (typeof PAGES)[number][0];

function pageFromHash(): Page {
  const h = window.location.hash.replace(/^#\/?/, '').split('?')[0];
  return (PAGES.find(([id]) => id === h)?.[0] ?? 'overview') as Page;
}

export interface PageProps {
  readonly session: Session;
  readonly info: Info;
}

export function App() {
  const [info, setInfo] = useState<Info>();
  const [personas, setPersonas] = useState<Persona[]>([]);
  const [session, setSession] = useState<Session>();
  const [page, setPage] = useState<Page>(pageFromHash());
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [oidc, setOidc] = useState<OidcSettings>({ enabled: false });

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    api<Info>(undefined, 'GET', '/v1/console/info')
      .then(async (i) => {
        setInfo(i);
        if (i.demo) setPersonas((await api<{ personas: Persona[] }>(undefined, 'GET', '/v1/demo/personas')).personas);
        const o = await api<OidcSettings & Record<string, unknown>>(undefined, 'GET', '/v1/console/oidc');
        setOidc(o);
        // Back from the provider, or a session this tab already had.
        const back = await finishSignIn(o);
        if (back) setSession(back);
        else {
          const kept = storedToken();
          if (kept)
            setSession(
              await sessionFor(kept).catch(() => {
                signOut();
                return undefined;
              }),
            );
        }
      })
      .catch((e: Error) => setError(e.message));
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const signInWithToken = () => {
    const wrong = malformedToken(token);
    setSession(undefined);
    if (wrong) {
      setError(wrong);
      return;
    }
    sessionFor(token.trim()).then(
      (s) => {
        setError(undefined);
        setSession(s);
      },
      (e: Error) => setError(`The server refused the token: ${e.message}`),
    );
  };

  const choosePersona = (id: string) => {
    const p = personas.find((x) => x.id === id);
    setSession(p ? { principal: p.id, token: p.token, forwardedFor: p.forwardedFor } : undefined);
  };

  return (
    <div className="shell">
      <header>
        <h1>
          cordon <span className="muted">{info?.deployment}</span>
        </h1>
        <div className="who">
          {info?.demo ? (
            <label>
              Persona{' '}
              <select aria-label="Persona" value={session?.principal ?? ''} onChange={(e) => choosePersona(e.target.value)}>
                <option value="">choose…</option>
                {personas.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.id} ({p.team}, {p.site})
                  </option>
                ))}
              </select>
            </label>
          ) : session ? (
            <span>
              Signed in as <strong data-testid="principal">{session.principal}</strong>{' '}
              <button
                type="button"
                onClick={() => {
                  signOut();
                  setSession(undefined);
                }}
              >
                Sign out
              </button>
            </span>
          ) : (
            <>
              {oidc.enabled && (
                <button type="button" onClick={() => void startSignIn(oidc).catch((e: Error) => setError(e.message))}>
                  Sign in with {oidc.issuer}
                </button>
              )}
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  signInWithToken();
                }}
              >
                <label>
                  Bearer token <input aria-label="Bearer token" value={token} onChange={(e) => setToken(e.target.value)} />
                </label>
                <button type="submit">Sign in</button>
              </form>
            </>
          )}
        </div>
      </header>
      {info && <StatusBar />}
      <nav aria-label="Pages">
        {PAGES.map(([id, label]) => (
          <a key={id} href={`#/${id}`} aria-current={page === id ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <main>
        {error && <p role="alert">{error}</p>}
        {!info ? (
          <p>Loading…</p>
        ) : !session ? (
          <p className="hint">Choose a persona (or sign in with a token) to see the console as that principal.</p>
        ) : (
          <Current page={page} session={session} info={info} key={`${session.principal}-${page}`} />
        )}
      </main>
    </div>
  );
}

/** Every page's header: which policy version and which checkpoint the page reflects, and who witnessed it. */
function StatusBar() {
  const [status, setStatus] = useState<Status>();
  const [at, setAt] = useState(Date.now());
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    let live = true;
    const load = () =>
      api<Status>(undefined, 'GET', '/v1/console/status').then(
        (s) => {
          if (!live) return;
          setStatus(s);
          setAt(Date.now());
        },
        () => undefined,
      );
    void load();
    const poll = setInterval(load, 10_000);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      live = false;
      clearInterval(poll);
      clearInterval(tick);
    };
  }, []);
  if (!status) return <div className="status muted">checkpoint…</div>;
  const cp = status.checkpoint;
  const ageNow = cp.ageSeconds === null ? null : cp.ageSeconds + Math.max(0, Math.floor((now - at) / 1000));
  return (
    <section className="status" aria-label="Policy and checkpoint" data-testid="status">
      <span title={status.policyVersion}>
        policy <code data-testid="policy-version">{status.policyVersion.slice(0, 12)}</code>
      </span>
      <span>
        checkpoint <strong data-testid="checkpoint-size">{cp.size}</strong> entries
        {ageNow !== null && (
          <>
            , signed <span data-testid="checkpoint-age">{age(ageNow)}</span> ago
          </>
        )}
      </span>
      <span data-testid="cosigners" className={cp.cosignedBy.length ? 'ok' : 'bad'}>
        {cp.cosignedBy.length ? `cosigned by ${cp.cosignedBy.join(', ')}` : 'no witness cosignature'}
      </span>
    </section>
  );
}

function Current({ page, ...props }: PageProps & { page: Page }) {
  switch (page) {
    case 'overview':
      return <Overview {...props} />;
    case 'data':
      return <DataPage {...props} />;
    case 'access':
      return <AccessPage {...props} />;
    case 'log':
      return <LogPage {...props} />;
    case 'flows':
      return <FlowsPage {...props} />;
    case 'policy':
      return <PolicyPage {...props} />;
    case 'findings':
      return <FindingsPage {...props} />;
  }
}
