// A raw PostgreSQL protocol client for tests that must send what no driver would (truncated,
// oversized or unknown messages), and a PROXY protocol v2 relay that stands for a trusted proxy.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { proxyV2Header } from '../../src/pgwire/index.js';

export interface BackendMessage {
  readonly type: string;
  readonly body: Buffer;
}

const cstr = (s: string) => Buffer.from(`${s}\u0000`, 'utf8');
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
export function frontend(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(body.length + 4), body]);
}
export function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.concat([int32(196608), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.alloc(1)]);
  return Buffer.concat([int32(body.length + 4), body]);
}
/** A startup-phase request of 8 bytes (SSLRequest 80877103, GSSENCRequest 80877104), or a CancelRequest with its pid and secret. */
export function startupRequest(code: number, ...rest: number[]): Buffer {
  return Buffer.concat([int32(8 + 4 * rest.length), int32(code), ...rest.map(int32)]);
}
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
export const passwordMessage = (p: string) => frontend('p', cstr(p));
export const queryMessage = (sql: string) => frontend('Q', cstr(sql));
export const parseMessage = (sql: string, name = '') => frontend('P', Buffer.concat([cstr(name), cstr(sql), int16(0)]));
export function bindMessage(params: readonly (string | null)[], statement = '', portal = ''): Buffer {
  const values = params.flatMap((p) => (p === null ? [int32(-1)] : [int32(Buffer.byteLength(p)), Buffer.from(p)]));
  return frontend('B', Buffer.concat([cstr(portal), cstr(statement), int16(0), int16(params.length), ...values, int16(0)]));
}
/** A Parse naming its parameters' type OIDs (0: unspecified). */
export const parseTyped = (sql: string, types: readonly number[], name = '') =>
  frontend('P', Buffer.concat([cstr(name), cstr(sql), int16(types.length), ...types.map(int32)]));
/** A Bind with raw parameter values (binary or text, as `formats` says) and result format codes. */
export function bindFormats(params: readonly (Buffer | null)[], formats: readonly number[], results: readonly number[], statement = '', portal = ''): Buffer {
  const values = params.flatMap((p) => (p === null ? [int32(-1)] : [int32(p.length), p]));
  return frontend(
    'B',
    Buffer.concat([
      cstr(portal),
      cstr(statement),
      int16(formats.length),
      ...formats.map(int16),
      int16(params.length),
      ...values,
      int16(results.length),
      ...results.map(int16),
    ]),
  );
}
/** The raw values of a DataRow (null for NULL): binary cells as sent. */
export function rawCellsOf(m: BackendMessage): (Buffer | null)[] {
  const n = m.body.readInt16BE(0);
  const out: (Buffer | null)[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const len = m.body.readInt32BE(at);
    at += 4;
    out.push(len < 0 ? null : m.body.subarray(at, at + len));
    if (len > 0) at += len;
  }
  return out;
}
/** A RowDescription's columns: name, type OID and format code. */
export function columnsOf(m: BackendMessage): { name: string; oid: number; format: number }[] {
  const n = m.body.readInt16BE(0);
  const out: { name: string; oid: number; format: number }[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const end = m.body.indexOf(0, at);
    const name = m.body.toString('utf8', at, end);
    at = end + 1;
    out.push({ name, oid: m.body.readInt32BE(at + 6), format: m.body.readInt16BE(at + 16) });
    at += 18;
  }
  return out;
}
export const describePortal = (portal = '') => frontend('D', Buffer.concat([Buffer.from('P'), cstr(portal)]));
export const executeMessage = (portal = '', maxRows = 0) => frontend('E', Buffer.concat([cstr(portal), int32(maxRows)]));
export const syncMessage = () => frontend('S', Buffer.alloc(0));

/** An ErrorResponse's or NoticeResponse's fields by their code letter (S, C, M, D). */
export function fieldsOf(m: BackendMessage): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < m.body.length && m.body[at] !== 0) {
    const code = String.fromCharCode(m.body[at]!);
    const end = m.body.indexOf(0, at + 1);
    out[code] = m.body.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return out;
}

/** The text cells of a DataRow (null for NULL). */
export function cellsOf(m: BackendMessage): (string | null)[] {
  const n = m.body.readInt16BE(0);
  const out: (string | null)[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const len = m.body.readInt32BE(at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(m.body.toString('utf8', at, at + len));
      at += len;
    }
  }
  return out;
}

export class RawPg {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    const end = () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  /** A client over a socket already open (a TLS socket after the SSLRequest). */
  static over(socket: Socket): RawPg {
    return new RawPg(socket);
  }

  static connect(port: number, preamble?: Buffer): Promise<RawPg> {
    return new Promise((done, fail) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        if (preamble) s.write(preamble);
        done(new RawPg(s));
      });
      s.once('error', fail);
    });
  }

  send(b: Buffer): void {
    this.socket.write(b);
  }

  /** The next n raw bytes (the answer to an SSLRequest), or undefined once closed. */
  async raw(n: number): Promise<Buffer | undefined> {
    for (;;) {
      if (this.buf.length >= n) {
        const out = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return out;
      }
      if (this.closed) return undefined;
      await new Promise<void>((w) => this.waiters.push(w));
    }
  }

  /** The next backend message, or undefined once the server has closed the connection. */
  async next(): Promise<BackendMessage | undefined> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length >= len + 1) {
          const m = { type: String.fromCharCode(this.buf[0]!), body: this.buf.subarray(5, len + 1) };
          this.buf = this.buf.subarray(len + 1);
          return m;
        }
      }
      if (this.closed) return undefined;
      await new Promise<void>((w) => this.waiters.push(w));
    }
  }

  /** Messages up to and including the first of type `type` (or until the connection closes). */
  async until(type: string): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (!m) return out;
      out.push(m);
      if (m.type === type) return out;
    }
  }

  /** Startup and password; resolves with the messages up to ReadyForQuery, or up to the close. */
  async login(user: string, token: string, params: Record<string, string> = {}): Promise<BackendMessage[]> {
    this.send(startupMessage({ user, database: 'cordon', ...params }));
    const auth = await this.next();
    if (auth?.type !== 'R') return auth ? [auth, ...(await this.until('Z'))] : [];
    this.send(passwordMessage(token));
    return this.until('Z');
  }

  end(): void {
    this.socket.destroy();
  }
}

/** A TCP relay that opens each connection with a PROXY v2 header naming `source` as the client: a trusted proxy in front of the wire gateway. */
export async function proxyRelay(targetPort: number, source: string): Promise<{ port: number; close(): Promise<void>; closed(): number }> {
  const sockets = new Set<Socket>();
  let closedClients = 0;
  const server: Server = createServer((client) => {
    client.on('close', () => closedClients++);
    const upstream = connect({ port: targetPort, host: '127.0.0.1' }, () => {
      upstream.write(proxyV2Header(source, 40000, '127.0.0.1', targetPort));
      client.pipe(upstream);
      upstream.pipe(client);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: (server.address() as AddressInfo).port,
    /** Client connections that have closed (a cancel request's connection closes once the server has read it). */
    closed: () => closedClients,
    close: () =>
      new Promise((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}
