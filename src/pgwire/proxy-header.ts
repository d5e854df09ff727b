// The PROXY protocol, version 2 (HAProxy's spec, "The PROXY protocol", section 2.2): a proxy in
// front of the wire gateway names the client's address in a binary header before the first
// PostgreSQL byte. It is believed only from a trusted proxy (the location resolver decides, as it
// does for X-Forwarded-For); from anyone else the connection is refused.

/** The 12-byte signature that opens a version 2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const HEADER_BYTES = 16;
/** Addresses plus TLVs; HAProxy keeps headers far below this. */
const MAX_PAYLOAD_BYTES = 1024;

export type ProxyHeader =
  /** LOCAL: the proxy speaks for itself (health checks); the peer's own address stands. */
  { readonly kind: 'local'; readonly bytes: number } | { readonly kind: 'proxy'; readonly bytes: number; readonly source: string };

/**
 * The header at the start of `buf`: undefined until it has arrived whole; an Error (with the
 * reason) when it is not a valid version 2 header. Callers MUST check the signature first.
 */
export function parseProxyV2(buf: Buffer): ProxyHeader | Error | undefined {
  if (buf.length < HEADER_BYTES) return undefined;
  if (!buf.subarray(0, 12).equals(PROXY_V2_SIGNATURE)) return new Error('not a PROXY protocol v2 header');
  const verCmd = buf[12]!;
  const family = buf[13]!;
  const len = buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2) return new Error(`PROXY protocol version ${verCmd >> 4} is not 2`);
  if (len > MAX_PAYLOAD_BYTES) return new Error(`PROXY header of ${len} bytes is too long`);
  if (buf.length < HEADER_BYTES + len) return undefined;
  const bytes = HEADER_BYTES + len;
  const command = verCmd & 0x0f;
  if (command === 0x0) return { kind: 'local', bytes };
  if (command !== 0x1) return new Error(`PROXY command ${command} is neither LOCAL nor PROXY`);
  const body = buf.subarray(HEADER_BYTES, bytes);
  // TCP over IPv4 (0x11) and IPv6 (0x21); the source address comes first.
  if (family === 0x11) {
    if (len < 12) return new Error('PROXY header too short for IPv4 addresses');
    return { kind: 'proxy', bytes, source: [...body.subarray(0, 4)].join('.') };
  }
  if (family === 0x21) {
    if (len < 36) return new Error('PROXY header too short for IPv6 addresses');
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    return { kind: 'proxy', bytes, source: groups.join(':') };
  }
  return new Error(`PROXY address family 0x${family.toString(16)} is not TCP over IPv4 or IPv6`);
}

/** A version 2 PROXY header for a TCP connection from `source` (IPv4) to `dest`: what a proxy (and the tests) send. */
export function proxyV2Header(source: string, sourcePort: number, dest: string, destPort: number): Buffer {
  const body = Buffer.alloc(12);
  const octets = [...source.split('.'), ...dest.split('.')].map(Number);
  for (let i = 0; i < 8; i++) body.writeUInt8(octets[i]!, i);
  body.writeUInt16BE(sourcePort, 8);
  body.writeUInt16BE(destPort, 10);
  const head = Buffer.alloc(4);
  head[0] = 0x21;
  head[1] = 0x11;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, head, body]);
}
