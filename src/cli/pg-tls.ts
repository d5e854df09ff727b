// The wire gateway's certificate for `cordon up`: --pg-tls-cert and --pg-tls-key, or pg-tls.crt and
// pg-tls.key in the data dir when both are there. Checked before anything is opened, so a wrong file
// is a usage error naming it, not a gateway that answers 'S' and then fails every handshake.

import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { UsageError } from './output.js';

export const PG_TLS_CERT_FILE = 'pg-tls.crt';
export const PG_TLS_KEY_FILE = 'pg-tls.key';

export interface PgTlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly certFile: string;
  /** The certificate's subject and last day, for the banner. */
  readonly subject: string;
  readonly validTo: Date;
}

/**
 * The certificate and key `cordon up` serves the wire gateway with, or undefined for none. Throws a
 * UsageError when only one of the pair is given (or found in `dataDir`), a file cannot be read, the
 * key is readable by others than its owner and group (PostgreSQL refuses such a key too), or the
 * key is not the certificate's.
 */
export function loadPgTls(certArg: string | undefined, keyArg: string | undefined, dataDir: string): PgTlsFiles | undefined {
  let certFile = certArg;
  let keyFile = keyArg;
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError('--pg-tls-cert and --pg-tls-key go together (the certificate and its private key)');
  const from = certFile === undefined ? 'data dir' : 'flag';
  if (certFile === undefined) {
    const c = join(dataDir, PG_TLS_CERT_FILE);
    const k = join(dataDir, PG_TLS_KEY_FILE);
    if (!existsSync(c) && !existsSync(k)) return undefined;
    if (!existsSync(c) || !existsSync(k))
      throw new UsageError(
        `the data dir has ${existsSync(c) ? PG_TLS_CERT_FILE : PG_TLS_KEY_FILE} but no ${existsSync(c) ? PG_TLS_KEY_FILE : PG_TLS_CERT_FILE}: the wire gateway's TLS needs both (or neither)`,
      );
    certFile = c;
    keyFile = k;
  }
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  const certName = from === 'flag' ? '--pg-tls-cert' : 'the certificate';
  const keyName = from === 'flag' ? '--pg-tls-key' : 'the private key';
  const cert = read(certFile, certName);
  const key = read(keyFile!, keyName);
  const mode = statSync(keyFile!).mode & 0o777;
  if ((mode & 0o037) !== 0)
    throw new UsageError(
      `${keyName} ${keyFile} may be read or written by other users (mode 0${mode.toString(8)}): make it readable by its owner only (chmod 600), or by its group at most (640)`,
    );
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
    createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  } catch (err) {
    throw new UsageError(
      `${certName} ${certFile} and ${keyName} ${keyFile} are not a PEM certificate and its private key: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return { cert, key, certFile, subject: x509.subject.replaceAll('\n', ', '), validTo: new Date(x509.validTo) };
}
