// The wire gateway's TLS: the upgrade after an SSLRequest (on the same socket, node:tls), and the
// refusal of a cleartext password from where it would cross a network in clear.

import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { FrameError, type Framer } from './protocol.js';

/**
 * Answers 'S' on `raw` and returns the TLS socket over it, which `onData` now reads; `onEnd` is
 * called when it fails or closes (a failed handshake — garbage, a client that does not trust the
 * certificate — just ends the connection). Bytes the client sent after its SSLRequest, before the
 * handshake, were not encrypted: anyone on the path could have put them there, so they end the
 * connection (08P01, as PostgreSQL ends it since CVE-2021-23214) rather than being read as the
 * client's. `onData` MUST be `raw`'s data listener until now.
 */
export function startTls(raw: Socket, framer: Framer, secureContext: SecureContext, onData: (chunk: Buffer) => void, onEnd: () => void): TLSSocket {
  if (framer.pending > 0)
    throw new FrameError(
      '08P01',
      'received unencrypted data after SSL request: either a client bug or an attempt to inject data into the connection (man in the middle)',
    );
  raw.write(Buffer.from('S'));
  raw.off('data', onData);
  const tls = new TLSSocket(raw, { isServer: true, secureContext });
  tls.on('data', onData);
  tls.on('error', onEnd);
  tls.on('close', onEnd);
  return tls;
}

/** The FATAL error for a cleartext startup where the password would cross a network in clear, told before any password is asked for. */
export function cleartextRefused(hasCertificate: boolean): FrameError {
  return new FrameError(
    '28000',
    hasCertificate
      ? 'the connection is not encrypted: cordon takes a password (a bearer token) from another host only over TLS; connect with sslmode=require (or verify-full)'
      : 'the connection is not encrypted and this server has no TLS certificate: cordon takes a password (a bearer token) from another host only over TLS; connect through the TLS-terminating proxy in front of it, or from this host',
  );
}
