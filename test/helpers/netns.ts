// Hosts for multi-region tests: each host is a Linux network namespace with one veth on a bridge in
// the root namespace, made and removed by the test itself (needs root). Every host has its address as
// a /8 on its `eth0`, so hosts reach each other directly on the bridge, and `lo` up. The root namespace
// (the test process) gets one control address on the bridge, CONTROL_ADDRESS/32, and a /32 route per
// host: the test reaches every host and every host reaches the test. Nothing else in the root
// namespace changes (no forwarding, no wider routes: the machine's own network is left alone).
//
// One run at a time: hosts' addresses are routes in the root namespace and CONTROL_ADDRESS is fixed,
// so createHosts() takes a machine-wide lock (a file naming its owner's pid) and waits while a live
// process holds it. A lock whose owner is dead is taken over, and what that owner left (namespaces,
// links and the processes in them) is removed first.
//
// Names: a run prefix `cg` + 4 random base36 characters (interface names have at most 15 characters);
// namespaces `${prefix}-${host}`, the bridge `${prefix}br`, veths `${prefix}${i}a` (root side, on the
// bridge) and `${prefix}${i}b` (renamed `eth0` inside the host).
//
//   const net = await createHosts({ hosts: { us: '10.90.1.2', eu: '10.41.1.2', austin: '10.20.0.2' } });
//   const pg = await startPostgresIn(net, 'us', { listen: ['127.0.0.1', '10.90.1.2'], allow: ['10.90.1.2/32'], databases: ['cordon'] });
//   const gw = net.spawn('us', process.execPath, ['bin/cordon.js', 'up', ...], { cwd: ROOT, env: { ...childEnv(), DATABASE_URL: pg.url() } });
//   const lb = await startHaproxyIn(net, 'us', { bind: '10.90.1.2:8080', backends: ['10.90.1.2:8443', ...] });
//   net.partition('eu'); ...; await net.heal('eu');
//   await net.remove(); // also on exit, crash or signal
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/** The root namespace's address on the bridge: the test process, as the hosts see it. */
export const CONTROL_ADDRESS = '10.250.0.1';

export interface Host {
  readonly name: string;
  /** The network namespace's name (for `ip netns exec`, `ip -n`, `ss -N`). */
  readonly netns: string;
  readonly address: string;
}

export interface RunResult {
  /** Exit status, or null if the process ended by a signal (e.g. killed at the timeout). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Default 30 s; the process (group) is killed with SIGKILL when it strikes. */
  readonly timeoutMs?: number;
  readonly input?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface NetHosts {
  /** This run's name prefix (`cg` + 4 base36 characters). */
  readonly prefix: string;
  readonly bridge: string;
  readonly hosts: Readonly<Record<string, Host>>;
  /**
   * A process in the host's namespace (`ip netns exec NS command ...args`, which execs the command:
   * the child's pid is the command's). It leads its own process group; remove() kills the group if it
   * is still running. stdin defaults to ignored, stdout and stderr to pipes (read them, or pass stdio).
   */
  spawn(host: string, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Runs a command in the host to its end; never rejects for a non-zero status (look at code). */
  run(host: string, command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /**
   * Runs an ES module script with node in the host (cwd: the repository root, so the repository's
   * dependencies import by name, e.g. `import postgres from 'postgres'`); `args` arrive as
   * process.argv[1...].
   */
  node(host: string, script: string, args?: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Like node(), but started and left running (a tracked spawn). */
  spawnNode(host: string, script: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Cuts the host off: its root-side veth goes down, so it reaches no one and no one reaches it (connects time out or get EHOSTUNREACH). */
  partition(host: string): void;
  /**
   * Undoes partition(): the veth goes up again; resolves once the host's eth0 has carrier and its bridge
   * port forwards, with every neighbour (ARP) cache of the run flushed, so the first connection does not
   * meet a neighbour entry that failed while the host was cut off (an immediate EHOSTUNREACH).
   */
  heal(host: string): Promise<void>;
  /** Whether something in the host listens on TCP `port` (on `address` if given, else any address). */
  listening(host: string, port: number, address?: string): boolean;
  /** Waits until listening(host, port, address), or throws after timeoutMs (default 20 s) naming `what`. */
  waitListening(host: string, port: number, address: string | undefined, what: string, timeoutMs?: number, died?: () => string | undefined): Promise<void>;
  /** A new directory under the OS temp dir, removed by remove(). */
  tempDir(prefix: string): string;
  /** Runs `fn` (synchronously) at the start of remove(), e.g. to stop servers started in the hosts. */
  onRemove(fn: () => void): void;
  /** Pids of the processes spawned in the hosts that have not yet exited. */
  running(): number[];
  /** How many processes were spawned in the hosts so far. */
  readonly spawned: number;
  /** Kills what runs in the hosts, deletes namespaces, veths, bridge, routes and address, temp dirs. Safe to call twice. */
  remove(): Promise<void>;
}

export interface CreateHostsOptions {
  /** host name → IPv4 address in 10.0.0.0/8 (not CONTROL_ADDRESS). Names: [a-z0-9]+, at most 8 characters. */
  readonly hosts: Readonly<Record<string, string>>;
  /** How long to wait for another live run's lock (default 15 min). */
  readonly lockWaitMs?: number;
}

const LOCK_DIR = '/run/lock';
const LOCK_FILE = join(LOCK_DIR, 'cordon-netns.lock');

/** Makes the hosts. Needs root; throws naming the failing command and its stderr. */
export async function createHosts(options: CreateHostsOptions): Promise<NetHosts> {
  if (process.getuid?.() !== 0) {
    throw new Error('createHosts needs root (network namespaces, veths and routes); CI runs the slow suite as root');
  }
  const entries = Object.entries(options.hosts);
  if (entries.length === 0) throw new Error('createHosts: no hosts');
  const seen = new Set<string>();
  for (const [name, address] of entries) {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`createHosts: host name ${JSON.stringify(name)} must be 1-8 of [a-z0-9]`);
    const octets = address.split('.').map(Number);
    const valid = octets.length === 4 && octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255) && /^\d+\.\d+\.\d+\.\d+$/.test(address);
    if (!valid || octets[0] !== 10 || address === CONTROL_ADDRESS || octets[3] === 0 || octets[3] === 255) {
      throw new Error(`createHosts: ${name}'s address ${address} must be a host address in 10.0.0.0/8 other than ${CONTROL_ADDRESS}`);
    }
    if (seen.has(address)) throw new Error(`createHosts: address ${address} given twice`);
    seen.add(address);
  }

  const prefix = `cg${randomBytes(4).readUInt32BE(0).toString(36).padStart(4, '0').slice(-4)}`;
  await takeLock(prefix, options.lockWaitMs ?? 15 * 60_000);
  const state: State = {
    prefix,
    bridge: `${prefix}br`,
    hosts: new Map(),
    veths: new Map(),
    children: new Set(),
    dirs: new Set(),
    onRemove: [],
    removed: false,
    spawned: 0,
  };
  live.add(state);
  installExitHandlers();
  try {
    removeLeftovers();
    build(state, entries);
  } catch (e) {
    teardownSync(state);
    throw e;
  }
  return handle(state);
}

// ---- state ----

interface State {
  readonly prefix: string;
  readonly bridge: string;
  readonly hosts: Map<string, Host>;
  /** host → root-side veth */
  readonly veths: Map<string, string>;
  readonly children: Set<ChildProcess>;
  readonly dirs: Set<string>;
  readonly onRemove: (() => void)[];
  removed: boolean;
  spawned: number;
}

const live = new Set<State>();

function build(state: State, entries: [string, string][]): void {
  const { prefix, bridge } = state;
  ip(['link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  ip(['link', 'set', bridge, 'up']);
  ip(['addr', 'add', `${CONTROL_ADDRESS}/32`, 'dev', bridge]);
  entries.forEach(([name, address], i) => {
    const netns = `${prefix}-${name}`;
    const outside = `${prefix}${i}a`;
    const inside = `${prefix}${i}b`;
    ip(['netns', 'add', netns]);
    state.hosts.set(name, { name, netns, address });
    ip(['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside, 'netns', netns]);
    state.veths.set(name, outside);
    ip(['link', 'set', outside, 'master', bridge, 'up']);
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    ip(['-n', netns, 'link', 'set', inside, 'name', 'eth0']);
    ip(['-n', netns, 'addr', 'add', `${address}/8`, 'dev', 'eth0']);
    ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
    ip(['route', 'add', `${address}/32`, 'dev', bridge, 'src', CONTROL_ADDRESS]);
  });
}

function handle(state: State): NetHosts {
  const host = (name: string): Host => {
    const h = state.hosts.get(name);
    if (h === undefined) throw new Error(`no host ${JSON.stringify(name)} (hosts: ${[...state.hosts.keys()].join(', ')})`);
    return h;
  };
  const spawnIn = (name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess => {
    if (state.removed) throw new Error('the hosts were removed');
    const child = spawn('ip', ['netns', 'exec', host(name).netns, command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
      env: options.env ?? childEnv(),
      detached: true, // its own process group, killed as one
    });
    state.spawned++;
    state.children.add(child);
    const forget = (): void => {
      state.children.delete(child);
    };
    child.once('exit', forget);
    child.once('error', forget);
    return child;
  };
  const runIn = (name: string, command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawnIn(name, command, args, {
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        cwd: options.cwd,
        env: options.env,
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      if (options.input !== undefined) child.stdin?.end(options.input);
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child, 'SIGKILL');
      }, options.timeoutMs ?? 30_000);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`ip netns exec ${host(name).netns} ${command}: ${e.message}`));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, timedOut, stdout, stderr });
      });
    });
  const listening = (name: string, port: number, address?: string): boolean => {
    const filter = address === undefined ? `sport = :${port}` : `src ${address} and sport = :${port}`;
    const r = spawnSync('ss', ['-N', host(name).netns, '-H', '-l', '-t', '-n', filter], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`ss -N ${host(name).netns} -Hltn ${filter}: exit ${String(r.status)}: ${r.stderr}`);
    return r.stdout.trim() !== '';
  };
  const nodeArgs = (script: string, args: readonly string[]): string[] => ['--input-type=module', '-e', script, '--', ...args];
  return {
    prefix: state.prefix,
    bridge: state.bridge,
    hosts: Object.fromEntries(state.hosts),
    spawn: spawnIn,
    run: runIn,
    node: (name, script, args = [], options = {}) => runIn(name, process.execPath, nodeArgs(script, args), { cwd: ROOT, ...options }),
    spawnNode: (name, script, args = [], options = {}) => spawnIn(name, process.execPath, nodeArgs(script, args), { cwd: ROOT, ...options }),
    partition: (name) => ip(['link', 'set', vethOf(state, name), 'down']),
    heal: async (name) => {
      const veth = vethOf(state, name);
      ip(['link', 'set', veth, 'up']);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const inside = ip(['-n', host(name).netns, '-br', 'link', 'show', 'dev', 'eth0']);
        const port = spawnSync('bridge', ['link', 'show', 'dev', veth], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
        if (/\bLOWER_UP\b/.test(inside) && /state forwarding/.test(port)) break;
        if (Date.now() > deadline) throw new Error(`heal(${name}): link not up after 10 s: ${inside.trim()} / ${port.trim()}`);
        await sleep(20);
      }
      for (const h of state.hosts.values()) ip(['-n', h.netns, 'neigh', 'flush', 'dev', 'eth0']);
      ip(['neigh', 'flush', 'dev', state.bridge]);
    },
    listening,
    waitListening: async (name, port, address, what, timeoutMs = 20_000, died) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (listening(name, port, address)) return;
        const why = died?.();
        if (why !== undefined) throw new Error(`${what} ended before it listened on ${address ?? '*'}:${port} in ${name}: ${why}`);
        if (Date.now() > deadline) throw new Error(`${what} did not listen on ${address ?? '*'}:${port} in ${name} within ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    tempDir: (p) => {
      const dir = mkdtempSync(join(tmpdir(), `${state.prefix}-${p}`));
      state.dirs.add(dir);
      return dir;
    },
    onRemove: (fn) => {
      state.onRemove.push(fn);
    },
    running: () => [...state.children].map((c) => c.pid).filter((p): p is number => p !== undefined),
    get spawned() {
      return state.spawned;
    },
    remove: () => removeAsync(state),
  };
}

function vethOf(state: State, name: string): string {
  const veth = state.veths.get(name);
  if (veth === undefined) throw new Error(`no host ${JSON.stringify(name)}`);
  return veth;
}

// ---- removal ----

async function removeAsync(state: State): Promise<void> {
  if (state.removed) return;
  runOnRemove(state);
  const exits = [...state.children].map(
    (c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))),
  );
  for (const c of state.children) killGroup(c, 'SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(exits), new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
  clearTimeout(timer);
  teardownSync(state);
}

function runOnRemove(state: State): void {
  for (const fn of state.onRemove.splice(0)) {
    try {
      fn();
    } catch (e) {
      process.stderr.write(`netns: a remove hook failed: ${(e as Error).message}\n`);
    }
  }
}

/** Everything, synchronously (also the exit handler's path): never throws. */
function teardownSync(state: State): void {
  runOnRemove(state);
  for (const c of state.children) killGroup(c, 'SIGKILL');
  for (const h of state.hosts.values()) killNetnsProcesses(h.netns);
  for (const h of state.hosts.values()) quietIp(['netns', 'del', h.netns]);
  for (const veth of state.veths.values()) if (linkExists(veth)) quietIp(['link', 'del', veth]);
  // Deleting the bridge takes the control address and the /32 routes with it.
  if (linkExists(state.bridge)) quietIp(['link', 'del', state.bridge]);
  for (const dir of state.dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  state.dirs.clear();
  state.removed = true;
  live.delete(state);
  releaseLock(state.prefix);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** SIGKILLs every process in the namespace (`ip netns pids`), e.g. PostgreSQL backends, which lead their own sessions; waits up to 5 s for them to go. */
function killNetnsProcesses(netns: string): void {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const r = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8', timeout: 10_000 });
    const pids =
      r.status === 0
        ? r.stdout
            .split(/\s+/)
            .filter((p) => /^\d+$/.test(p))
            .map(Number)
        : [];
    if (pids.length === 0 || Date.now() > deadline) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    spawnSync('sleep', ['0.05']);
  }
}

function linkExists(name: string): boolean {
  return spawnSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/** Namespaces and links left by a run that died without removing them (its lock is ours now, so it is not running). */
function removeLeftovers(): void {
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 });
  for (const line of ns.stdout?.split('\n') ?? []) {
    const name = line.split(' ')[0] ?? '';
    const m = /^(cg[0-9a-z]{4})-[a-z0-9]+$/.exec(name);
    if (m === null || isLive(m[1]!)) continue;
    killNetnsProcesses(name);
    quietIp(['netns', 'del', name]);
  }
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8', timeout: 10_000 });
  for (const line of links.stdout?.split('\n') ?? []) {
    const name = /^\d+: ([^:@]+)[@:]/.exec(line)?.[1] ?? '';
    const m = /^(cg[0-9a-z]{4})(br|\d+a)$/.exec(name);
    if (m === null || isLive(m[1]!)) continue;
    quietIp(['link', 'del', name]);
  }
  // The dirs of its PostgreSQL and HAProxy servers (tempDir names them `${prefix}-...`).
  for (const entry of readdirSync(tmpdir())) {
    const m = /^(cg[0-9a-z]{4})-/.exec(entry);
    if (m !== null && !isLive(m[1]!)) rmSync(join(tmpdir(), entry), { recursive: true, force: true, maxRetries: 3 });
  }
}

function isLive(prefix: string): boolean {
  return [...live].some((s) => s.prefix === prefix && !s.removed);
}

let handlersInstalled = false;
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const all = (): void => {
    for (const s of [...live]) teardownSync(s);
  };
  process.on('exit', all);
  // A signal would otherwise end the process without 'exit': remove, then let the signal do what it
  // would have done (as test/helpers/postgres.ts does).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      all();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

// ---- the machine-wide lock ----

/** `pid starttime prefix` of this process: a pid alone could be reused after its owner died. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime), counted after the parenthesised command name, which may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function takeLock(prefix: string, waitMs: number): Promise<void> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const mine = `${process.pid} ${processStart(process.pid) ?? '?'} ${prefix}\n`;
  const deadline = Date.now() + waitMs;
  let holder = '';
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx', 0o644);
      writeSync(fd, mine);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ${LOCK_FILE}: ${(e as Error).message}`);
    }
    let content = '';
    try {
      content = readFileSync(LOCK_FILE, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    const [pid, start] = content.trim().split(' ');
    const owner = Number(pid);
    if (owner === process.pid && start === processStart(process.pid))
      throw new Error('createHosts: this process already has hosts; remove() them before making others');
    const alive = Number.isInteger(owner) && owner > 0 && processStart(owner) === start;
    if (!alive && content !== '') {
      // Dead owner (its leftovers are removed once we hold the lock). Take it over only if it still is
      // the file we read (another waiter may have taken it over already).
      try {
        if (readFileSync(LOCK_FILE, 'utf8') === content) unlinkSync(LOCK_FILE);
      } catch {
        // gone already
      }
      continue;
    }
    holder = content.trim();
    if (Date.now() > deadline) throw new Error(`createHosts: another run holds ${LOCK_FILE} (${holder}) after waiting ${waitMs} ms`);
    await sleep(200);
  }
}

function releaseLock(prefix: string): void {
  try {
    const content = readFileSync(LOCK_FILE, 'utf8');
    if (content.trim().split(' ')[2] === prefix && Number(content.split(' ')[0]) === process.pid) unlinkSync(LOCK_FILE);
  } catch {
    // not ours, or gone
  }
}

// ---- commands ----

/** Runs `ip ...args`; throws naming the command and its stderr. */
export function ip(args: readonly string[]): string {
  const r = spawnSync('ip', [...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`ip ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: exit ${String(r.status)}: ${r.stderr.trim()}`);
  return r.stdout;
}

function quietIp(args: readonly string[]): void {
  const r = spawnSync('ip', [...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 && !/Cannot find|does not exist|No such/i.test(r.stderr ?? '')) {
    process.stderr.write(`netns cleanup: ip ${args.join(' ')}: ${(r.stderr ?? '').trim()}\n`);
  }
}

/** Environment for children: no PG* variables (they would change what PostgreSQL's programs do), C locale. */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG') && !k.startsWith('NODE_TEST')) env[k] = v;
  env['LC_ALL'] = 'C';
  env['LANG'] = 'C';
  return env;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
