import { ChannelCredentials, ServerCredentials, experimental } from '@grpc/grpc-js';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './load-config';
import {
  PemFilesWatch,
  ReloadingServerCredentials,
  type TlsMaterial,
  TlsMaterialProvider,
  type TlsReload,
} from './tls-reload';

/** A PEM file setting: the variable that names it (for messages) and its path (unset: none). */
export interface PemFileSetting {
  variable: string;
  path?: string;
}

/** The entitlement service's gRPC port: its certificate and key, and the CA of its clients. */
export interface GrpcServerTlsSettings {
  cert: PemFileSetting;
  key: PemFileSetting;
  /** Set: mutual TLS, only clients with a certificate this CA signed get through. */
  clientCa: PemFileSetting;
}

/** A client of that port (a gateway): whether it speaks TLS, what it trusts, its certificate. */
export interface GrpcChannelTlsSettings {
  /** TLS even without any file: the server's certificate checked against Node's trusted roots. */
  tls: boolean;
  /** The CA bundle to trust instead of Node's roots. */
  ca: PemFileSetting;
  /** A client certificate and its key, for a port with mutual TLS. */
  cert: PemFileSetting;
  key: PemFileSetting;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const PRIVATE_KEY_BLOCK = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/**
 * The gRPC server's credentials: insecure when no certificate is set, else TLS only (and mutual
 * TLS with a client CA: a client without a certificate that CA signed fails the handshake).
 * Reads each file now; a missing, unreadable or non-PEM file, a key that is not the
 * certificate's, or half a pair throws a ConfigError naming every variable at fault (never a
 * key's contents). With `reload`, a change of the files is read again (see TlsReload).
 */
export function grpcServerCredentials(
  settings: GrpcServerTlsSettings,
  reload?: TlsReload,
): ServerCredentials {
  const read = () => readServerMaterial(settings);
  const watch = watched([settings.cert, settings.key, settings.clientCa], read, reload);
  const material = Problems.throwing(read);
  if (!material.pair) return ServerCredentials.createInsecure();
  return new ReloadingServerCredentials(material, watch);
}

/**
 * A gRPC client's credentials: insecure unless `tls` or any file is set; with TLS the
 * server's certificate must chain to the CA bundle (Node's trusted roots without one), and
 * the client certificate is offered when set. Same reading, errors and `reload` as
 * grpcServerCredentials.
 */
export function grpcChannelCredentials(
  settings: GrpcChannelTlsSettings,
  reload?: TlsReload,
): ChannelCredentials {
  const read = () => readChannelMaterial(settings);
  const watch = watched([settings.ca, settings.cert, settings.key], read, reload);
  const material = Problems.throwing(read);
  if (!channelTls(settings)) return ChannelCredentials.createInsecure();
  if (!watch)
    return ChannelCredentials.createSsl(
      material.ca ?? null,
      material.pair?.key ?? null,
      material.pair?.cert ?? null,
    );
  const provider = new TlsMaterialProvider(material, watch);
  return experimental.createCertificateProviderChannelCredentials(
    provider,
    material.pair ? provider : null,
  );
}

function readServerMaterial(settings: GrpcServerTlsSettings): {
  material?: TlsMaterial;
  problems: Problems;
} {
  const { cert, key, clientCa } = settings;
  const problems = new Problems();
  problems.pair(cert, key);
  if (clientCa.path !== undefined && cert.path === undefined)
    problems.add(clientCa, `needs ${cert.variable} and ${key.variable}: mutual TLS is TLS first`);
  const pair = problems.keyPair(cert, key);
  const ca = problems.certificates(clientCa);
  return { material: problems.ok ? { pair, ca } : undefined, problems };
}

function readChannelMaterial(settings: GrpcChannelTlsSettings): {
  material?: TlsMaterial;
  problems: Problems;
} {
  const { ca, cert, key } = settings;
  const problems = new Problems();
  problems.pair(cert, key);
  const roots = problems.certificates(ca);
  const pair = problems.keyPair(cert, key);
  return { material: problems.ok ? { pair, ca: roots } : undefined, problems };
}

/** The watch of the files that are set, when `reload` asks for one. */
function watched(
  files: PemFileSetting[],
  read: () => { material?: TlsMaterial; problems: Problems },
  reload: TlsReload | undefined,
): PemFilesWatch | undefined {
  const set = files.filter((f): f is PemFileSetting & { path: string } => f.path !== undefined);
  if (!reload || reload.intervalMs <= 0 || set.length === 0) return undefined;
  return new PemFilesWatch(
    set,
    () => {
      const { material, problems } = read();
      return { material, problems: problems.list() };
    },
    reload,
  );
}

/** Whether a client with these settings speaks TLS: asked to, or given any of its files. */
export function channelTls(settings: GrpcChannelTlsSettings): boolean {
  return (
    settings.tls ||
    settings.ca.path !== undefined ||
    settings.cert.path !== undefined ||
    settings.key.path !== undefined
  );
}

/** What is wrong with the settings, one line per variable, thrown together. */
class Problems {
  private readonly lines = new Map<string, string>();

  add(setting: PemFileSetting, problem: string): void {
    if (!this.lines.has(setting.variable)) this.lines.set(setting.variable, problem);
  }

  /** A certificate and its key: both or neither. */
  pair(cert: PemFileSetting, key: PemFileSetting): void {
    if (cert.path !== undefined && key.path === undefined)
      this.add(key, `required with ${cert.variable} (its private key)`);
    if (key.path !== undefined && cert.path === undefined)
      this.add(cert, `required with ${key.variable} (the certificate of that key)`);
  }

  /** The file's bytes, or undefined (a problem added) when it cannot be read. */
  read(setting: PemFileSetting & { path: string }): Buffer | undefined {
    try {
      return readFileSync(setting.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      this.add(setting, `cannot read ${setting.path} (${code})`);
      return undefined;
    }
  }

  /** A PEM bundle of one or more certificates, each of which parses. */
  certificates(setting: PemFileSetting): Buffer | undefined {
    if (setting.path === undefined) return undefined;
    const bytes = this.read({ ...setting, path: setting.path });
    if (!bytes) return undefined;
    const blocks = bytes.toString('latin1').match(CERTIFICATE_BLOCK) ?? [];
    if (blocks.length === 0) {
      this.add(setting, `${setting.path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
      return undefined;
    }
    for (const [i, block] of blocks.entries()) {
      try {
        new X509Certificate(block);
      } catch {
        this.add(setting, `certificate ${i + 1} in ${setting.path} is not a valid X.509 one`);
        return undefined;
      }
    }
    return bytes;
  }

  /** A certificate (chain) and the private key of its first certificate. */
  keyPair(cert: PemFileSetting, key: PemFileSetting): { cert: Buffer; key: Buffer } | undefined {
    const certBytes = this.certificates(cert);
    const keyBytes =
      key.path === undefined ? undefined : this.privateKey({ ...key, path: key.path });
    if (!certBytes || !keyBytes) return undefined;
    const leaf = new X509Certificate(certBytes.toString('latin1').match(CERTIFICATE_BLOCK)![0]);
    if (!leaf.checkPrivateKey(keyBytes.object)) {
      this.add(key, `is not the private key of ${cert.variable}'s certificate`);
      return undefined;
    }
    try {
      // What a handshake will build from them: a pair OpenSSL takes (e.g. a key type it does
      // not support would fail every connection, not the start).
      createSecureContext({ cert: certBytes, key: keyBytes.bytes });
    } catch (err) {
      this.add(cert, `cannot be used for TLS with its key: ${(err as Error).message}`);
      return undefined;
    }
    return { cert: certBytes, key: keyBytes.bytes };
  }

  /** An unencrypted PEM private key. Messages never quote the file: it is a secret. */
  private privateKey(
    setting: PemFileSetting & { path: string },
  ): { bytes: Buffer; object: KeyObject } | undefined {
    const bytes = this.read(setting);
    if (!bytes) return undefined;
    const what = `${setting.path} holds no unencrypted PEM private key`;
    if (!PRIVATE_KEY_BLOCK.test(bytes.toString('latin1'))) {
      this.add(setting, `${what} (-----BEGIN PRIVATE KEY-----)`);
      return undefined;
    }
    try {
      return { bytes, object: createPrivateKey({ key: bytes, format: 'pem' }) };
    } catch {
      // Node's reason (a decoder error, a passphrase wanted) names no part of the key, but
      // adds nothing an operator can act on either.
      this.add(setting, what);
      return undefined;
    }
  }

  get ok(): boolean {
    return this.lines.size === 0;
  }

  /** One line per variable at fault: `VARIABLE: problem`. */
  list(): string[] {
    return [...this.lines].map(([variable, problem]) => `${variable}: ${problem}`);
  }

  /** What `read` found, or a ConfigError naming every variable at fault. */
  static throwing(read: () => { material?: TlsMaterial; problems: Problems }): TlsMaterial {
    const { material, problems } = read();
    if (material) return material;
    const lines = problems.list().map((line) => `  ${line}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
}
