// HAProxy (Debian's haproxy 2.6, /usr/sbin/haproxy, installed by .ci/run) inside one host of
// test/helpers/netns.ts, in front of several HTTP backends: round robin, health checks, retries and
// redispatch, X-Forwarded-For. It runs in the foreground as a tracked process of the hosts, logs each
// request to its log file, and answers its admin socket (servers() reads each backend's state).
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { NetHosts } from './netns.js';
import { sleep } from './netns.js';

export const HAPROXY = '/usr/sbin/haproxy';

export interface HaproxyOptions {
  /** 'ADDRESS:PORT' to listen on, in the host. */
  readonly bind: string;
  /** 'ADDRESS:PORT' of each backend; they are named s1, s2, ... in that order. */
  readonly backends: readonly string[];
  /** Health check path (GET, expects 200); default /healthz. */
  readonly health?: string;
  /** Health check interval (ms); default 500. */
  readonly checkIntervalMs?: number;
}

export interface ServerState {
  /** s1, s2, ... in the order of options.backends. */
  readonly name: string;
  readonly address: string;
  /** HAProxy's status: UP, DOWN, 'UP 1/2' (going down), 'DOWN 1/2' (going up), MAINT, ... */
  readonly status: string;
}

export interface Haproxy {
  /** http://BIND/ */
  readonly url: string;
  readonly configFile: string;
  /** HAProxy's stderr: start-up messages and one line per request (httplog: retries show as a count, `+N` if redispatched). */
  readonly logFile: string;
  readonly pid: number | undefined;
  servers(): Promise<ServerState[]>;
  /** Waits until `server` (s1, s2, ...) has exactly `status` (e.g. DOWN), or throws after timeoutMs (default 10 s). */
  waitStatus(server: string, status: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The configuration. On retries (haproxy 2.6's documented behaviour for `retry-on`): `conn-failure`
 * retries a request that could not be sent (connection refused or timed out); `empty-response` and
 * `response-timeout` retry a request that WAS sent when the server closed without a byte of response
 * or did not answer in `timeout server`. HAProxy keeps a copy of the request for this (requests larger
 * than tune.bufsize are never retried) and does not look at the method: a POST sent to a backend that
 * then dies is replayed on another just like a GET, so the application must tolerate replays (cordon's
 * writes would need idempotency). A response that has begun to arrive is not retried (the documentation's
 * "nothing was received from the server"). `option redispatch 1` sends every retry to another server,
 * not back to the dead one. test/netns.slow.test.ts shows a GET and a POST, each read by a backend that
 * is then SIGKILLed, answered by the other backend (httplog retries field `+1`).
 */
export function haproxyConfig(options: HaproxyOptions, adminSocket: string): string {
  const health = options.health ?? '/healthz';
  const inter = options.checkIntervalMs ?? 500;
  return [
    'global',
    '  maxconn 2000',
    `  stats socket ${adminSocket} mode 600 level admin`,
    '  log stderr format raw local0 info',
    '  hard-stop-after 2s',
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  option dontlognull',
    '  option forwardfor',
    '  option redispatch 1',
    '  retries 3',
    '  retry-on conn-failure empty-response response-timeout',
    '  timeout connect 1s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 10s',
    '  timeout queue 5s',
    '  timeout check 1s',
    '',
    'frontend fe',
    `  bind ${options.bind}`,
    '  default_backend be',
    '',
    'backend be',
    '  balance roundrobin',
    `  option httpchk GET ${health}`,
    '  http-check expect status 200',
    `  default-server check inter ${inter}ms fastinter ${inter}ms downinter ${inter}ms fall 2 rise 2`,
    ...options.backends.map((b, i) => `  server s${i + 1} ${b}`),
    '',
  ].join('\n');
}

/** Starts HAProxy in `host` and waits until it listens on `bind`; throws with its log if it does not. */
export async function startHaproxyIn(net: NetHosts, host: string, options: HaproxyOptions): Promise<Haproxy> {
  if (!existsSync(HAPROXY)) {
    throw new Error(`${HAPROXY} is missing: install Debian's haproxy (CI's .ci/run does: apt-get install -y haproxy)`);
  }
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(options.bind);
  if (m === null) throw new Error(`startHaproxyIn: bind ${options.bind} must be ADDRESS:PORT`);
  for (const b of options.backends) if (!/^\d+\.\d+\.\d+\.\d+:\d+$/.test(b)) throw new Error(`startHaproxyIn: backend ${b} must be ADDRESS:PORT`);
  const dir = net.tempDir(`haproxy-${host}-`);
  const configFile = join(dir, 'haproxy.cfg');
  const logFile = join(dir, 'haproxy.log');
  const adminSocket = join(dir, 'admin.sock');
  writeFileSync(configFile, haproxyConfig(options, adminSocket));
  const check = await net.run(host, HAPROXY, ['-c', '-q', '-f', configFile]);
  if (check.code !== 0) throw new Error(`haproxy -c -f ${configFile}: exit ${String(check.code)}: ${check.stderr}${check.stdout}`);

  const log = openSync(logFile, 'a');
  const child = net.spawn(host, HAPROXY, ['-db', '-f', configFile], { stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exit ${String(code ?? signal)}`;
  });
  const logTail = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '');
  try {
    await net.waitListening(host, Number(m[2]), m[1], 'haproxy', 20_000, () => (exited === undefined ? undefined : `${exited}\n${logTail()}`));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- ${logFile} ---\n${logTail()}`);
  }

  const servers = async (): Promise<ServerState[]> => {
    const csv = await adminCommand(adminSocket, 'show stat\n');
    const lines = csv.split('\n').filter((l) => l !== '');
    const header = (lines[0] ?? '').replace(/^# /, '').split(',');
    const col = (name: string): number => header.indexOf(name);
    return lines
      .slice(1)
      .map((l) => l.split(','))
      .filter((f) => f[col('pxname')] === 'be' && /^s\d+$/.test(f[col('svname')] ?? ''))
      .map((f) => ({ name: f[col('svname')]!, address: f[col('addr')] ?? '', status: f[col('status')] ?? '' }));
  };
  return {
    url: `http://${options.bind}/`,
    configFile,
    logFile,
    pid: child.pid,
    servers,
    waitStatus: async (server, status, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        const s = (await servers()).find((x) => x.name === server);
        last = s?.status ?? '(no such server)';
        if (last === status) return;
        if (Date.now() > deadline) throw new Error(`haproxy server ${server} is ${last}, not ${status}, after ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    stop: async () => {
      if (exited !== undefined) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGUSR1'); // soft stop: finish what is in flight, then exit
      await Promise.race([gone, sleep(5_000)]);
      if (exited === undefined) {
        child.kill('SIGKILL');
        await gone;
      }
    },
  };
}

function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let out = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', (e) => reject(new Error(`haproxy admin socket ${socket}: ${e.message}`)));
    c.setTimeout(5_000, () => c.destroy(new Error('timeout')));
    c.write(command);
  });
}
