// Throwaway TLS certificates for the wire gateway's tests, made by Debian's openssl CLI (.ci/run
// installs it where it is missing): a self-signed P-256 certificate for localhost and 127.0.0.1,
// valid two days, that clients verify as their own root (sslrootcert, `ca`).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A new key and self-signed certificate in `dir`, named `<name>.crt` and `<name>.key` (the key 0600). */
export function makeCert(dir: string, name = 'pg-tls', cn = 'localhost'): TestCert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=DNS:${cn},IP:127.0.0.1`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
