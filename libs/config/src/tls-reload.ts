import { ServerCredentials, experimental } from '@grpc/grpc-js';
import { statSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';

/*
 * TLS files of the gRPC link read again while a service runs (see TlsReload): the watch of the
 * files, and how grpc-js's server and channel credentials take what it reads.
 */

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

/** What a TLS server or client presents and trusts, as read from its files. */
export interface TlsMaterial {
  pair?: { cert: Buffer; key: Buffer };
  ca?: Buffer;
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
    private readonly files: { variable: string; path: string }[],
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
export class ReloadingServerCredentials extends ServerCredentials {
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
export class TlsMaterialProvider implements experimental.CertificateProvider {
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
