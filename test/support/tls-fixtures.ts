import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files made for one test file, in a temporary directory of its own. */
export interface TlsFixtures {
  dir: string;
  /** The CA that signed the server and client certificates. */
  caCert: string;
  /** The server's certificate (SAN IP:127.0.0.1, DNS:localhost) and key. */
  serverCert: string;
  serverKey: string;
  /** A client certificate (for mutual TLS) from the same CA, and its key. */
  clientCert: string;
  clientKey: string;
  /** A CA unrelated to the one above, and a server and a client certificate it signed. */
  otherCaCert: string;
  otherServerCert: string;
  otherServerKey: string;
  otherClientCert: string;
  otherClientKey: string;
  /** A file that is not PEM at all. */
  notPem: string;
  /** Deletes the directory. */
  remove(): void;
}

const DAYS = '2';

/**
 * Makes a CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and an
 * unrelated second CA with a server and a client certificate of its own, with the `openssl`
 * command line tool: certificates of this run, none committed to the repository. EC P-256
 * keys, unencrypted PKCS#8, as a deployment's tooling would write them. Throws when openssl
 * cannot be run: a test that needs these fails rather than being skipped.
 */
export function createTlsFixtures(): TlsFixtures {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-tls-'));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT')
        throw new Error('the TLS tests need the openssl command line tool: it was not found');
      throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() ?? e.message}`);
    }
  };
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

  const ca = (name: string, cn: string) =>
    openssl(
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      path(`${name}.key`),
      '-out',
      path(`${name}.pem`),
      '-days',
      DAYS,
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  /** A leaf certificate signed by `issuer`, with the extensions given (one per line). */
  const leaf = (name: string, cn: string, issuer: string, extensions: string[]) => {
    openssl(
      'req',
      ...ecKey,
      '-keyout',
      path(`${name}.key`),
      '-out',
      path(`${name}.csr`),
      '-subj',
      `/CN=${cn}`,
    );
    writeFileSync(path(`${name}.ext`), `${extensions.join('\n')}\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      path(`${issuer}.pem`),
      '-CAkey',
      path(`${issuer}.key`),
      '-CAcreateserial',
      '-out',
      path(`${name}.pem`),
      '-days',
      DAYS,
      '-extfile',
      path(`${name}.ext`),
    );
  };

  try {
    ca('ca', 'paygate test CA');
    ca('other-ca', 'unrelated test CA');
    leaf('server', 'localhost', 'ca', [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'extendedKeyUsage=serverAuth',
    ]);
    leaf('client', 'paygate-gateway', 'ca', ['extendedKeyUsage=clientAuth']);
    leaf('other-server', 'localhost', 'other-ca', [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'extendedKeyUsage=serverAuth',
    ]);
    leaf('other-client', 'paygate-gateway', 'other-ca', ['extendedKeyUsage=clientAuth']);
    writeFileSync(path('not-pem.txt'), 'not a certificate\n');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    caCert: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
    otherCaCert: path('other-ca.pem'),
    otherServerCert: path('other-server.pem'),
    otherServerKey: path('other-server.key'),
    otherClientCert: path('other-client.pem'),
    otherClientKey: path('other-client.key'),
    notPem: path('not-pem.txt'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Puts a copy of `from` at `to` by a rename over it, as a secret volume swaps its files. */
export function replaceFile(from: string, to: string): void {
  copyFileSync(from, `${to}.new`);
  renameSync(`${to}.new`, to);
}
