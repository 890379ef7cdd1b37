import { ChannelCredentials, ServerCredentials, experimental } from '@grpc/grpc-js';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { type SecureContextOptions, createSecureContext } from 'node:tls';
import { ConfigError } from './load-config';

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
 * Renewed certificates taken without a restart: how often the files are looked at, and what
 * is told of a change. A change is read once the files have stayed the same for one more
 * interval (a rotation that writes the certificate and then the key is not read half done),
 * and taken only when it passes the checks made at start; otherwise the files read before stay
 * in use. New connections get what was taken; connections up already keep theirs.
 */
export interface TlsReload {
  /** Milliseconds between looks at the files (their inode, size and times); 0: never. */
  intervalMs: number;
  report(event: TlsReloadEvent): void;
}

/** Taken (the variables whose files were read), or refused (why, one line per variable). */
export type TlsReloadEvent =
  { outcome: 'reloaded'; variables: string[] } | { outcome: 'refused'; problems: string[] };

/** What a TLS server or client presents and trusts, as read from its files (exported for specs). */
export interface TlsMaterial {
  pair?: { cert: Buffer; key: Buffer };
  ca?: Buffer;
}

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

/**
 * Looks at a set of PEM files every interval while someone listens (a server bound, a channel
 * connecting), and hands on what a change holds once it has settled and passed the checks.
 * Exported for its spec.
 */
export class PemFilesWatch {
  private timer: NodeJS.Timeout | undefined;
  /** The files as last read (taken or refused): nothing is read again until they change. */
  private read: string;
  /** The files as seen at the last look, when they differed from `read`. */
  private seen: string | undefined;
  /** Why the files last read were refused, while they stay so: they are read again each look. */
  private refused: string | undefined;
  private apply: (material: TlsMaterial) => void = () => undefined;

  /** Made before the files are first read, so that a change while they are is not missed. */
  constructor(
    private readonly files: (PemFileSetting & { path: string })[],
    private readonly readMaterial: () => { material?: TlsMaterial; problems: string[] },
    private readonly reload: TlsReload,
  ) {
    this.read = this.signature();
  }

  /** Starts looking, `apply` getting each change taken; a second start changes nothing. */
  start(apply: (material: TlsMaterial) => void): void {
    this.apply = apply;
    if (this.timer) return;
    this.timer = setInterval(() => this.look(), this.reload.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get watching(): boolean {
    return this.timer !== undefined;
  }

  /**
   * One look. A change is read once it was already there at the look before (settled), and
   * files that were refused are read again at every look (what failed may have been the
   * reading itself: EMFILE, EIO); a refusal is reported when the files or the reasons change.
   */
  look(): void {
    const now = this.signature();
    const changed = now !== this.read;
    if (changed && now !== this.seen) {
      this.seen = now;
      return;
    }
    this.seen = undefined;
    if (!changed && this.refused === undefined) return;
    this.read = now;
    const { material, problems } = this.readMaterial();
    if (!material) {
      if (changed || problems.join('\n') !== this.refused)
        this.reload.report({ outcome: 'refused', problems });
      this.refused = problems.join('\n');
      return;
    }
    this.refused = undefined;
    this.apply(material);
    this.reload.report({ outcome: 'reloaded', variables: this.files.map((f) => f.variable) });
  }

  /** What tells a file changed: its inode (a rename over it), size and times; or its absence. */
  private signature(): string {
    return this.files
      .map(({ path }) => {
        try {
          const s = statSync(path);
          return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
        } catch (err) {
          return (err as NodeJS.ErrnoException).code ?? 'unreadable';
        }
      })
      .join('|');
  }
}

/** The server side: its TLS context replaced for new connections when the files change. */
class ReloadingServerCredentials extends ServerCredentials {
  constructor(
    material: TlsMaterial,
    private readonly watch: PemFilesWatch | undefined,
  ) {
    // requestCert with a client CA: mutual TLS (Node rejects a client it cannot verify). The
    // cipher suites grpc-js's createSsl takes from the environment, as it would.
    super(
      { requestCert: material.ca !== undefined, ciphers: process.env.GRPC_SSL_CIPHER_SUITES },
      serverContext(material),
    );
  }

  override _addWatcher(watcher: Parameters<ServerCredentials['_addWatcher']>[0]): void {
    super._addWatcher(watcher);
    this.watch?.start((material) => this.updateSecureContextOptions(serverContext(material)));
  }

  override _removeWatcher(watcher: Parameters<ServerCredentials['_removeWatcher']>[0]): void {
    super._removeWatcher(watcher);
    if (this.getWatcherCount() === 0) this.watch?.stop();
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

function serverContext({ pair, ca }: TlsMaterial): SecureContextOptions {
  return { ca, cert: pair ? [pair.cert] : [], key: pair ? [pair.key] : [] };
}

/**
 * The client side, as grpc-js takes certificates that change: the CA bundle (Node's default
 * store without one) and the client certificate, each handed to whoever listens now and again
 * on every change taken.
 */
class TlsMaterialProvider implements experimental.CertificateProvider {
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();

  constructor(
    private material: TlsMaterial,
    private readonly watch: PemFilesWatch,
  ) {}

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    listener(this.caUpdate());
    this.started();
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
    this.stopped();
  }

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    listener(this.identityUpdate());
    this.started();
  }

  removeIdentityCertificateListener(
    listener: experimental.IdentityCertificateUpdateListener,
  ): void {
    this.identityListeners.delete(listener);
    this.stopped();
  }

  private started(): void {
    this.watch.start((material) => {
      this.material = material;
      for (const listener of this.caListeners) listener(this.caUpdate());
      for (const listener of this.identityListeners) listener(this.identityUpdate());
    });
  }

  private stopped(): void {
    if (this.caListeners.size === 0 && this.identityListeners.size === 0) this.watch.stop();
  }

  private caUpdate(): experimental.CaCertificateUpdate {
    // No CA file: `ca` left out of the TLS context, i.e. Node's default store (its bundled
    // roots and NODE_EXTRA_CA_CERTS), as ChannelCredentials.createSsl does without roots
    // (grpc-js's GRPC_DEFAULT_SSL_ROOTS_FILE_PATH is not read on this path; paygate sets none).
    return { caCertificate: this.material.ca } as experimental.CaCertificateUpdate;
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate | null {
    const { pair } = this.material;
    return pair ? { certificate: pair.cert, privateKey: pair.key } : null;
  }
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
