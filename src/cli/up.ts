// `cordon up`: the gateway and everything beside it on one port. With --demo: the demo policy, a
// local token issuer, the demo world (fixed users, 10,000 generated ones, videos, comments), the
// seeded grant, a tokens file, and curl lines that show how the personas differ.

import { Command, Option } from 'commander';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { checkPolicy, formatIssue, regionalPolicy, type Policy } from '../policy/index.js';
import type { AccessBroker, Actor } from '../access/index.js';
import {
  createCordonServer,
  createDemoIssuer,
  dataPaths,
  DEFAULT_DEMO_USERS,
  isLoopbackHost,
  LOG_LEVELS,
  resolveStoreUrls,
  RuntimeError,
  seedDemoWorld,
  checkProviderUrl,
  discoverProvider,
  discoveryUrl,
  type ConsoleSignIn,
  type CordonServer,
  type LogLevel,
  type ServerOptions,
} from '../server/index.js';
import { FORWARDED_FOR_OPTION } from '../pgwire/index.js';
import { EXIT_FINDING, EXIT_USAGE, UsageError } from './output.js';
import { addressOfSite, DEFAULT_DATA_DIR, DEFAULT_PG_PORT, DEFAULT_PORT, DEMO_POLICY_DIR } from './defaults.js';
import { readKeyArg } from './log.js';
import { loadPgTls, PG_TLS_CERT_FILE, PG_TLS_KEY_FILE } from './pg-tls.js';
import { checkWorkers, parseWorkers, prepareDataDir, runPrimary, workerNumber } from './workers.js';
import { regionSetup } from './region.js';

interface UpOptions {
  policy?: string;
  demo?: boolean;
  demoPublic?: boolean;
  port: string;
  host: string;
  dataDir: string;
  demoUsers: string;
  jwks?: string;
  issuer?: string;
  audience: string[];
  consoleClientId?: string;
  trustedProxy: string[];
  witness: string[];
  breakGlassWebhook?: string;
  logLevel: string;
  workers: string;
  pgPort?: string;
  pgTlsCert?: string;
  pgTlsKey?: string;
  pgAllowCleartext?: boolean;
  region?: string;
  peer: string[];
  store: string[];
}

/** Fails (exit 3) when `host:port` cannot be bound, before the stores are opened. Port 0 is always free. */
async function portIsFree(host: string, port: number, flag = '--port'): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((done, fail) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ` (another process listens there: stop it, or give ${flag})` : '';
      fail(new RuntimeError(`cannot listen on ${host}:${port}: ${err.code ?? err.message}${hint}`, 3));
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => done()));
  });
}

/** A persona acting from its own site (the demo's requests come from where each persona works). */
function demoActor(policy: Policy, id: string): Actor {
  const principal = policy.directory.principals.get(id)!;
  const place = policy.deployment.locations.find((l) => l.site === principal.site);
  return { principal, country: place?.country ?? principal.workCountry, site: principal.site, knownPlace: place !== undefined };
}

/**
 * The demo's seeded grant (PRODUCT.md §10): austin-engineer asks for the contact data of demo-us-1
 * for 8 hours and both approvers approve, through the broker, so every step is in the log. Done
 * again at a start when no such grant is active.
 */
export async function seedDemoGrant(policy: Policy, broker: AccessBroker): Promise<void> {
  if (broker.grantsOf('austin-engineer').some((g) => g.subjects?.includes('demo-us-1') && g.expiresAt > Date.now())) return;
  const r = await broker.request(demoActor(policy, 'austin-engineer'), {
    datasets: ['users'],
    categories: ['user.contact'],
    subjects: ['demo-us-1'],
    reason: 'USER_SUPPORT',
    ticket: 'DEMO-1',
    duration: '8h',
    comment: "the demo's seeded grant",
  });
  for (const approver of ['austin-approver-a', 'austin-approver-b']) await broker.approve(demoActor(policy, approver), r.id, { comment: 'demo' });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface ProviderSetup {
  readonly tokens: { issuer: string; audience: readonly string[]; jwks: URL };
  readonly signIn?: ConsoleSignIn;
}

/**
 * The provider's tokens, from --issuer (keys by OpenID discovery, or --jwks), the audiences of
 * --audience and cordon.yaml identity.audience, and the console's sign-in. Undefined for the demo's
 * own issuer. There is no default audience: a token is accepted only when it was made for this
 * deployment, and a shared default would accept one made for any other that trusts the same provider.
 */
/** The identity flags that must go together, checked before the policy loads (a usage error is found at once). */
function checkIdentityFlags(opts: UpOptions): void {
  if (!opts.issuer) {
    if (opts.jwks) throw new UsageError('--jwks goes with --issuer (the provider whose keys they are)');
    if (opts.consoleClientId) throw new UsageError('--console-client-id goes with --issuer (the provider the console signs in at)');
    if (opts.audience.length > 0) throw new UsageError('--audience goes with --issuer (the demo signs its own tokens)');
    if (!opts.demo) throw new UsageError('without --demo, give --issuer URL (the OpenID provider) and --audience');
    return;
  }
  if (opts.audience.some((a) => a.trim() === '')) throw new UsageError('--audience must not be empty');
  checkProviderUrl(opts.issuer, '--issuer');
  if (opts.jwks !== undefined) checkProviderUrl(opts.jwks, '--jwks');
}

async function providerTokens(opts: UpOptions, policy: Policy): Promise<ProviderSetup | undefined> {
  if (!opts.issuer) return undefined;
  const audience = [...new Set([...opts.audience, ...policy.deployment.identity.audience])];
  if (audience.length === 0)
    throw new UsageError(
      `--issuer needs the audience tokens must carry: give --audience (e.g. https://cordon.example.com, as the provider's resource or API identifier for cordon), or set identity.audience in cordon.yaml`,
    );
  const jwksOverride = opts.jwks === undefined ? undefined : new URL(opts.jwks);
  // Discovery is needed for the key set unless --jwks names it, and for the console's endpoints.
  const meta = jwksOverride && !opts.consoleClientId ? undefined : await discoverProvider(opts.issuer);
  const tokens = { issuer: opts.issuer, audience, jwks: jwksOverride ?? meta!.jwksUri };
  if (!opts.consoleClientId) return { tokens };
  const where = discoveryUrl(opts.issuer);
  if (!meta?.authorizationEndpoint || !meta.tokenEndpoint)
    throw new UsageError(`--console-client-id: the provider's configuration (${where}) names no authorization_endpoint or token_endpoint`);
  if (meta.codeChallengeMethods && !meta.codeChallengeMethods.includes('S256'))
    throw new UsageError(
      `--console-client-id: the provider (${where}) does not offer PKCE with S256 (code_challenge_methods_supported), which the console's sign-in needs`,
    );
  const claim = policy.deployment.identity.principalClaim;
  // The scope that makes a provider put the naming claim in its tokens, where a standard one does.
  const scope = ['openid', ...(claim === 'email' ? ['email'] : claim === 'preferred_username' ? ['profile'] : [])].join(' ');
  const resource = audience.find((a) => URL.canParse(a) && !a.includes('#'));
  return {
    tokens,
    signIn: {
      issuer: opts.issuer,
      clientId: opts.consoleClientId,
      authorizationEndpoint: meta.authorizationEndpoint,
      tokenEndpoint: meta.tokenEndpoint,
      scope,
      ...(resource ? { resource } : {}),
    },
  };
}

export function upCommand(): Command {
  return new Command('up')
    .description('serve the data API (and, with --demo, the demo world) on one port')
    .option('--policy <dir>', 'policy directory (default with --demo: the demo policy)')
    .option('--demo', 'run the demo world: local token issuer, seeded data, tokens file')
    .option('--demo-public', 'let --demo listen on a non-loopback --host (its persona endpoint is then off and X-Forwarded-For from this host is not believed)')
    .option('--port <n>', 'port', String(DEFAULT_PORT))
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--data-dir <dir>', "all state: keys, the demo's files, and the embedded stores cordon.yaml names by a relative pglite:// path", DEFAULT_DATA_DIR)
    .addOption(new Option('--demo-users <n>', 'generated demo users').default(String(DEFAULT_DEMO_USERS)).hideHelp())
    .option('--issuer <url>', 'the OpenID provider whose tokens are accepted; its key set is found by discovery (URL/.well-known/openid-configuration)')
    .option('--jwks <url>', "the provider's key set, instead of the one discovery finds")
    .option('--audience <aud>', 'an audience tokens must carry, e.g. https://cordon.example.com (repeatable; also cordon.yaml identity.audience)', collect, [])
    .option('--console-client-id <id>', "the console's public client at the provider: the console signs in with authorization code + PKCE")
    .option('--trusted-proxy <cidr>', 'a proxy whose X-Forwarded-For is believed (repeatable)', collect, [])
    .option('--witness <url=vkey>', 'a witness that cosigns the access log: its base URL and verifier key (repeatable)', collect, [])
    .option('--break-glass-webhook <url>', 'POST break-glass alerts here (overrides cordon.yaml access.break_glass.webhook)')
    .option('--log-level <level>', `operational log on stderr, JSON lines (${LOG_LEVELS.join(', ')})`, 'info')
    .option(
      '--pg-port <n>',
      `also serve the PostgreSQL wire protocol here (password: the bearer token); with --demo ${DEFAULT_PG_PORT} by default (0, any free port, when --port is 0)`,
    )
    .option(
      '--pg-tls-cert <file>',
      `the wire gateway's certificate (PEM, with its chain): clients may then use TLS (default: ${PG_TLS_CERT_FILE} in the data dir, if there)`,
    )
    .option('--pg-tls-key <file>', `its private key (PEM, readable by its owner only; default: ${PG_TLS_KEY_FILE} in the data dir)`)
    .option(
      '--pg-allow-cleartext',
      'let wire clients on other hosts log in without TLS (their token then crosses the network in clear); without it they are refused before they send it',
    )
    .option(
      '--region <name>',
      "serve one region (an enclave of cordon.yaml) on its own hosts: only the global store and that enclave's, its own access log; another region's records are redirected to its --peer",
    )
    .option('--peer <region=url>', "another region's gateway (its load balancer), where its records are redirected (repeatable)", collect, [])
    .option('--store <name=url>', 'where a store of cordon.yaml is on this host (repeatable; e.g. enclave_us=postgres://cordon@127.0.0.1/cordon)', collect, [])
    .option('--workers <n>', 'gateway processes sharing the port (auto: one per core); more than 1 needs every store on PostgreSQL', '1')
    .action(async (opts: UpOptions) => {
      const policyDir = opts.policy ?? (opts.demo ? DEMO_POLICY_DIR : undefined);
      if (!policyDir) throw new UsageError('give --policy DIR, or --demo');
      if (opts.demoPublic && !opts.demo) throw new UsageError('--demo-public goes only with --demo');
      // The demo hands every persona's token to whoever asks (/v1/demo/personas) and believes
      // X-Forwarded-For from this host: both are safe only while nobody else can connect.
      const loopback = isLoopbackHost(opts.host);
      if (opts.demo && !loopback && !opts.demoPublic) {
        throw new UsageError(
          `--demo listens only on a loopback address (127.0.0.1, ::1, localhost), not ${JSON.stringify(opts.host)}: its persona endpoint hands out every persona's token and it believes X-Forwarded-For from this host. Give --demo-public to serve it to other hosts anyway, without either.`,
        );
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got ${JSON.stringify(opts.port)}`);
      const demoUsers = Number(opts.demoUsers);
      if (!Number.isInteger(demoUsers) || demoUsers < 0) throw new UsageError('--demo-users must be a whole number');
      if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel))
        throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(opts.logLevel)}`);
      checkIdentityFlags(opts);
      const pgPort = opts.pgPort !== undefined ? Number(opts.pgPort) : opts.demo ? (port === 0 ? 0 : DEFAULT_PG_PORT) : undefined;
      if (pgPort !== undefined && (!Number.isInteger(pgPort) || pgPort < 0 || pgPort > 65535))
        throw new UsageError(`--pg-port must be a port number, got ${JSON.stringify(opts.pgPort)}`);
      const workers = parseWorkers(opts.workers);
      if (pgPort === undefined && (opts.pgTlsCert !== undefined || opts.pgTlsKey !== undefined || opts.pgAllowCleartext))
        throw new UsageError('--pg-tls-cert, --pg-tls-key and --pg-allow-cleartext go with --pg-port (or --demo)');
      const pgTls = pgPort === undefined ? undefined : loadPgTls(opts.pgTlsCert, opts.pgTlsKey, dataPaths(opts.dataDir).root);
      // A worker of `--workers N`: the primary checked all of this, and holds the shared port.
      const worker = workerNumber();
      // A busy port is found before anything is opened or written (the stores take seconds).
      if (worker === undefined) await portIsFree(opts.host, port);
      if (worker === undefined && pgPort !== undefined) await portIsFree(opts.host, pgPort, '--pg-port');
      // A closed pipe on stdout (`cordon up | head`) must not crash the server.
      process.stdout.on('error', () => {});
      const { policy: given, issues } = checkPolicy(policyDir);
      if (!given) throw new UsageError(`policy ${policyDir} is invalid:\n${issues.map(formatIssue).join('\n')}`);
      const paths = dataPaths(opts.dataDir);
      const { region, storeUrls } = regionSetup(opts, given);
      // A region's gateway works on the policy as its region sees it (its own log and origin).
      const policy = region ? regionalPolicy(given, region.name) : given;
      // Where each store lives, by the data dir rule (relative pglite paths are inside it): checked and printed before anything opens.
      const allUrls = resolveStoreUrls(policy, paths.root, storeUrls);
      const urls = region ? new Map([...allUrls].filter(([name]) => region.stores.includes(name))) : allUrls;

      const provider = await providerTokens(opts, policy);
      let tokens: ServerOptions['tokens'];
      let demo: Awaited<ReturnType<typeof createDemoIssuer>> | undefined;
      if (provider) tokens = provider.tokens;
      else {
        // Only the demo has an issuer of its own; its audience is its own too (tokens it signs).
        demo = await createDemoIssuer();
        tokens = { issuer: demo.issuer, audience: demo.audience, jwks: demo.jwks };
      }
      const witnesses = opts.witness.map((w) => {
        const at = w.indexOf('=');
        const url = w.slice(0, at);
        if (at < 0 || !/^https?:\/\//.test(url))
          throw new UsageError(
            `--witness must be URL=VKEY (e.g. http://127.0.0.1:7380=witness.example+1234abcd+BASE64), got ${JSON.stringify(w.slice(0, 80))}`,
          );
        return { url, vkey: readKeyArg(w.slice(at + 1), '--witness key') };
      });
      if (opts.breakGlassWebhook !== undefined && !/^https?:\/\/\S+$/.test(opts.breakGlassWebhook))
        throw new UsageError(`--break-glass-webhook must be an http(s) URL, got ${JSON.stringify(opts.breakGlassWebhook.slice(0, 80))}`);
      const trusted = opts.demo && loopback ? ['127.0.0.1/32', '::1/128', ...opts.trustedProxy] : opts.trustedProxy;
      if (opts.demo && !loopback) {
        process.stderr.write(
          `cordon: warning: --demo-public: the demo listens on ${opts.host}, reachable from other hosts. It is a demo (a local token issuer, generated users), not a deployment. /v1/demo/personas is off (the console asks for a token), and X-Forwarded-For from this host is not believed${opts.trustedProxy.length > 0 ? ` (only from --trusted-proxy ${opts.trustedProxy.join(', ')})` : ''}.\n`,
        );
      }
      if (pgPort !== undefined && worker === undefined && !loopback) {
        // Its passwords are bearer tokens: in clear, anyone on the path could replay them, here and on the HTTP API.
        if (opts.pgAllowCleartext)
          process.stderr.write(
            `cordon: warning: the PostgreSQL wire gateway listens on ${opts.host} and, with --pg-allow-cleartext, lets clients log in without TLS: their passwords are bearer tokens and then cross the network in clear.\n`,
          );
        else if (!pgTls)
          process.stderr.write(
            `cordon: warning: the PostgreSQL wire gateway listens on ${opts.host} without TLS (no --pg-tls-cert, no ${PG_TLS_CERT_FILE} in the data dir): clients on other hosts are refused (28000) before they send their password, a bearer token, unless they come through a --trusted-proxy that sends PROXY protocol v2. Give it a certificate (--pg-tls-cert and --pg-tls-key), or put it behind a TLS-terminating proxy that sends PROXY v2.\n`,
          );
      }
      if (pgTls && pgTls.validTo.getTime() < Date.now())
        process.stderr.write(
          `cordon: warning: the wire gateway's certificate ${pgTls.certFile} expired on ${pgTls.validTo.toISOString()}: clients that verify it will refuse it.\n`,
        );
      const tty = process.stderr.isTTY;
      // Demo tokens carry each persona's place; the console's persona picker sends the site's address.
      const signed: Record<string, string> = {};
      const personas: { id: string; name: string; team: string; site: string; token: string; forwardedFor: string | undefined }[] = [];
      if (demo) {
        for (const p of policy.directory.principals.values()) {
          const address = addressOfSite(policy, p.site);
          const place = policy.deployment.locations.find((l) => l.site === p.site);
          signed[p.id] = await demo.sign(p.id, address && place ? { location: { country: place.country, site: place.site } } : {});
          personas.push({ id: p.id, name: p.name, team: p.team, site: p.site, token: signed[p.id]!, forwardedFor: address });
        }
      }
      checkWorkers(workers, Boolean(opts.demo), urls);
      if (workers > 1 && worker === undefined) {
        prepareDataDir(policy, paths.root);
        process.exitCode = await runPrimary(workers, (line) => process.stderr.write(`${line}\n`));
        return;
      }
      let server: CordonServer;
      try {
        server = await createCordonServer({
          policy,
          dataDir: paths.root,
          ...(storeUrls ? { storeUrls } : {}),
          ...(region ? { region: { name: region.name, peers: region.peers } } : {}),
          tokens,
          trustedProxies: trusted,
          witnesses,
          breakGlassWebhook: opts.breakGlassWebhook,
          personas: demo && loopback ? personas : undefined,
          consoleSignIn: provider?.signIn,
          logger: { level: opts.logLevel as LogLevel },
          pgWire: pgPort !== undefined && { ...(pgTls ? { tls: pgTls } : {}), allowCleartext: opts.pgAllowCleartext === true },
        });
      } catch (err) {
        if (err instanceof RuntimeError) throw err;
        throw new RuntimeError(`cannot start: ${err instanceof Error ? err.message : String(err)}`, 3);
      }
      let backgroundSeed: Promise<void> | undefined;
      let stopSeeding: (() => void) | undefined;
      let seedRest: (() => void) | undefined;
      try {
        if (opts.demo) {
          mkdirSync(paths.demo, { recursive: true, mode: 0o700 });
          const wanted = JSON.stringify({ users: demoUsers, policy: policy.versionHash });
          if (!existsSync(paths.demoSeeded) || readFileSync(paths.demoSeeded, 'utf8') !== wanted) {
            // The fixed users, videos and comment first: they are what the quick start asks for. The
            // generated world fills in behind the first requests (writes are idempotent upserts).
            await seedDemoWorld(server.placement, { users: 0 });
            const abort = new AbortController();
            stopSeeding = () => abort.abort();
            seedRest = () => {
              backgroundSeed = seedDemoWorld(server.placement, {
                users: demoUsers,
                signal: abort.signal,
                onProgress: (done, total) => {
                  if (tty) process.stderr.write(`\rseeding the demo world: ${done}/${total} records`);
                },
              }).then(
                (counts) => {
                  if (abort.signal.aborted) return;
                  writeFileSync(paths.demoSeeded, wanted);
                  if (tty) process.stderr.write(`\ndemo world seeded: ${counts.users} users, ${counts.videos} videos, ${counts.comments} comments\n`);
                },
                (err: unknown) => {
                  if (!abort.signal.aborted)
                    process.stderr.write(`\ncordon: seeding the demo world failed: ${err instanceof Error ? err.message : String(err)}\n`);
                },
              );
            };
          }
          if (server.log.health().ok) await seedDemoGrant(policy, server.broker);
          if (demo) {
            writeFileSync(paths.demoTokens, `${JSON.stringify(signed, null, 2)}\n`, { mode: 0o600 });
            chmodSync(paths.demoTokens, 0o600);
          }
          writeFileSync(paths.demoVkey, `${server.log.vkey}\n`);
        }
        await server.app.listen({ port, host: opts.host });
        await server.pg?.listen(pgPort ?? 0, opts.host);
      } catch (err) {
        await server.close().catch(() => undefined);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
          throw new RuntimeError(`cannot listen on ${opts.host}:${server.app.server.listening ? pgPort : port}: ${code}`, 3);
        throw new RuntimeError(`cannot start: ${err instanceof Error ? err.message : String(err)}`, 3);
      }
      seedRest?.();
      const addr = server.app.server.address();
      const actualPort = typeof addr === 'object' && addr ? addr.port : port;
      const base = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${actualPort}`;
      const health = server.log.health();
      if (!health.ok) {
        process.stderr.write(
          `cordon: the access log is unavailable, so every read is refused (503): ${health.reason}${opts.demo ? `\n  (the demo: remove ${opts.dataDir} to start a fresh world and log)` : ''}\n`,
        );
      }
      const out = [
        `cordon is serving ${policyDir} on ${base}`,
        `  console    ${base}/`,
        `  data API   ${base}/v1/data/{dataset}/{key}`,
        `  OpenAPI    ${base}/openapi.json`,
        `  health     ${base}/readyz`,
        `  access log ${base}/log/checkpoint (verifier key: ${server.log.vkey})`,
      ];
      const wire = server.pg?.address();
      if (wire)
        out.push(
          `  PostgreSQL ${opts.host}:${wire.port} (wire protocol: user = principal, password = its bearer token; ${pgTls ? `TLS with ${pgTls.certFile}, ${pgTls.subject}, until ${pgTls.validTo.toISOString().slice(0, 10)}` : loopback || opts.pgAllowCleartext ? 'no TLS' : 'no TLS: other hosts only through a trusted proxy'})`,
        );
      out.push(`  data dir   ${paths.root} (pid ${process.pid}; embedded stores are locked while it runs)`);
      if (region) {
        out.push(`  region     ${region.name} (access log ${policy.deployment.accessLog.origin}; another region's records are redirected)`);
        for (const [peer, url] of Object.entries(region.peers)) out.push(`  peer       ${peer}: ${url}`);
      }
      for (const [name, url] of urls) out.push(`  store      ${name}: ${url.replace(/\/\/[^@/]*@/, '//***@')}`);
      if (provider) {
        out.push(
          `  tokens     from ${provider.tokens.issuer} (keys: ${provider.tokens.jwks.href}; audience ${[provider.tokens.audience].flat().join(', ')}; principal claim ${policy.deployment.identity.principalClaim})`,
        );
        if (provider.signIn) out.push(`  sign-in    the console signs in at ${provider.signIn.authorizationEndpoint} as client ${provider.signIn.clientId}`);
      }
      if (opts.demo && demo) {
        const tokensFile = join(opts.dataDir, 'demo', 'tokens.json');
        out.push(`  tokens     ${tokensFile} (one per persona)`);
        if (!loopback) out.push('', 'X-Forwarded-For from this host is not believed (--demo-public): each request is placed by its own address.');
        else
          out.push(
            '',
            'Each persona asks for the same record, demo-us-1, from its own site (the demo trusts this host as a proxy);',
            'a persona that may not see the uid in clear names it by its own token:',
          );
        const psql: string[] = [];
        for (const persona of loopback ? ['beijing-engineer', 'us-analyst', 'austin-engineer'] : []) {
          const p = policy.directory.principals.get(persona);
          const address = p && addressOfSite(policy, p.site);
          if (!address) continue;
          const file = tokensFile.startsWith('/') ? tokensFile : `./${tokensFile}`;
          const key = (await server.keyAs(persona, 'users', 'demo-us-1')) ?? 'demo-us-1';
          out.push(
            `  curl -s -H "Authorization: Bearer $(node -p "require('${file}')['${persona}']")" -H 'X-Forwarded-For: ${address}' ${base}/v1/data/users/${key}`,
          );
          psql.push(
            `  PGPASSWORD="$(node -p "require('${file}')['${persona}']")" PGOPTIONS='-c ${FORWARDED_FOR_OPTION}=${address}' psql -h ${opts.host} -p ${wire?.port} -U ${persona} -d cordon -c "SELECT uid, username, phone_number FROM users WHERE uid = '${key}'"`,
          );
        }
        if (wire && psql.length > 0)
          out.push('', 'The same over the PostgreSQL wire protocol (the place rides in the startup options, as X-Forwarded-For):', ...psql);
      }
      const vkeyFile = opts.demo ? join(opts.dataDir, 'demo', 'log.vkey') : join(opts.dataDir, 'keys', 'log.vkey');
      out.push('', 'Anyone can check the access log:', `  npx cordon log verify --url ${base} --vkey ${vkeyFile} --state log-state.json`);
      out.push('', 'Ctrl-C stops.');
      // Of several workers, the first prints the banner.
      if (worker === undefined || worker === 1) process.stdout.write(`${out.join('\n')}\n`);
      server.app.log.info({ pid: process.pid, url: base, dataDir: paths.root }, 'serving');
      // SIGTERM or SIGINT: stop taking connections, let the requests in flight finish (each is in the
      // log before its answer), stop seeding, flush the log and sign a last checkpoint, close the
      // stores and release their locks. A second signal stops at once.
      await new Promise<void>((done) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) {
            process.stderr.write(`cordon: ${signal} again: stopping now, without draining\n`);
            process.exit(EXIT_FINDING);
          }
          stopping = true;
          process.stdout.write('stopping\n');
          server.app.log.info({ signal }, 'stopping: draining requests, flushing the access log');
          stopSeeding?.();
          const started = Date.now();
          void Promise.resolve(backgroundSeed)
            .then(() => server.close())
            .then(
              () => {
                process.stdout.write(`stopped: log size ${server.log.size()}, in ${Date.now() - started} ms\n`);
                done();
              },
              (err: unknown) => {
                process.stderr.write(`cordon: stopping: ${err instanceof Error ? err.message : String(err)}\n`);
                process.exitCode = EXIT_FINDING;
                done();
              },
            );
        };
        // A worker stops when the primary says (Ctrl-C reaches the whole process group: the primary
        // then sends SIGTERM, which a worker that took SIGINT too would read as a second signal).
        if (worker === undefined) process.on('SIGINT', stop);
        else process.on('SIGINT', () => {});
        process.on('SIGTERM', stop);
      });
      if (process.exitCode === undefined) process.exitCode = 0;
      // A worker's channel to the primary would keep it running.
      if (worker !== undefined) process.disconnect?.();
    });
}

export { EXIT_USAGE };
