import {
  closedWithoutReason,
  connectionFailure,
  targetAddress,
  tlsFailure,
} from './connection-failure';

/** grpc-js 1.14's details of an UNAVAILABLE call for each case, as observed. */
const lastError = (error: string) =>
  `14 UNAVAILABLE: No connection established. Last error: ${error}. Resolution note: `;
const SEEN = {
  untrusted: lastError('Error: unable to verify the first certificate'),
  selfSigned: lastError('Error: self-signed certificate in certificate chain'),
  altname: lastError(
    "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: " +
      "Host: entitlement.internal. is not in the cert's altnames: IP Address:10.1.2.3, DNS:localhost",
  ),
  expired: lastError('Error: certificate has expired'),
  plaintextPort: lastError(
    'Error: 800C2221917F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version ' +
      'number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n',
  ),
  certificateRequired: lastError(
    '800C2221917F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate ' +
      'required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n' +
      ' (2026-12-07T02:08:58.411Z)',
  ),
  unknownCa: lastError(
    '80EC412D1C7F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ' +
      'ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 48',
  ),
  closed: lastError('Failed to connect (2026-12-07T02:08:58.395Z)'),
  closedTls: lastError(
    'Error: Client network socket disconnected before secure TLS connection was established',
  ),
  refused: lastError('Error: connect ECONNREFUSED 10.1.2.3:50051'),
  unresolved: '14 UNAVAILABLE: Name resolution failed for target dns:entitlement.internal:50051',
  serverSaid: '14 UNAVAILABLE: the database is unavailable',
  serverSaidAlert: '14 UNAVAILABLE: alert delivery failed: SSL routines of the webhook',
};

describe('tlsFailure', () => {
  it.each([
    [
      'untrusted',
      SEEN.untrusted,
      /not signed by a CA this gateway trusts \(ENTITLEMENT_GRPC_CA_FILE/,
    ],
    ['selfSigned', SEEN.selfSigned, /not signed by a CA this gateway trusts/],
    ['altname', SEEN.altname, /does not name the host .*ENTITLEMENT_GRPC_SERVER_NAME/],
    ['expired', SEEN.expired, /certificate has expired/],
    [
      'plaintextPort',
      SEEN.plaintextPort,
      /gRPC port does not speak TLS \(GRPC_TLS_CERT_FILE unset there\)/,
    ],
    [
      'certificateRequired',
      SEEN.certificateRequired,
      /requires a client certificate.*ENTITLEMENT_GRPC_CERT_FILE/,
    ],
    ['unknownCa', SEEN.unknownCa, /refuses this gateway's client certificate/],
  ])('names what to fix: %s', (_, details, meaning) => {
    expect(tlsFailure(details)).toMatch(meaning);
  });

  it('never repeats an address or a name from the details (/ready is public)', () => {
    for (const details of Object.values(SEEN)) {
      const words = connectionFailure(details, true) ?? '';
      for (const secret of ['10.1.2.3', 'entitlement.internal', 'localhost', '50051', '0A00'])
        expect(words).not.toContain(secret);
    }
  });

  it.each([
    'closed',
    'closedTls',
    'refused',
    'unresolved',
    'serverSaid',
    'serverSaidAlert',
  ] as const)('sees no TLS failure in %s: an outage, or not known to be TLS', (name) =>
    expect(tlsFailure(SEEN[name])).toBeUndefined(),
  );
});

describe('connectionFailure', () => {
  it('tells an outage apart: nothing listening, a name that does not resolve', () => {
    expect(connectionFailure(SEEN.refused, false)).toBe('nothing listens at ENTITLEMENT_GRPC_URL');
    expect(connectionFailure(SEEN.unresolved, true)).toMatch(/host name does not resolve/);
    expect(connectionFailure(SEEN.serverSaid, false)).toBeUndefined();
  });

  it('hints at TLS when the connection closes before gRPC starts, from the side this gateway is on', () => {
    expect(closedWithoutReason(SEEN.closed)).toBe(true);
    expect(closedWithoutReason(SEEN.closedTls)).toBe(true);
    expect(closedWithoutReason(SEEN.refused)).toBe(false);
    expect(connectionFailure(SEEN.closed, false)).toMatch(
      /if its gRPC port speaks TLS \(GRPC_TLS_CERT_FILE\), set ENTITLEMENT_GRPC_TLS/,
    );
    expect(connectionFailure(SEEN.closed, true)).toMatch(
      /GRPC_TLS_CLIENT_CA_FILE there, it refuses this gateway's client certificate/,
    );
  });

  it('puts a TLS failure first', () => {
    expect(connectionFailure(SEEN.untrusted, true)).toBe(tlsFailure(SEEN.untrusted));
  });
});

describe('targetAddress', () => {
  it.each([
    ['127.0.0.1:50051', { host: '127.0.0.1', port: 50051 }],
    ['entitlement:50051', { host: 'entitlement', port: 50051 }],
    ['dns:entitlement.internal:443', { host: 'entitlement.internal', port: 443 }],
    ['dns:///entitlement.internal:443', { host: 'entitlement.internal', port: 443 }],
    ['[::1]:50051', { host: '::1', port: 50051 }],
  ])('reads %s', (target, address) => {
    expect(targetAddress(target)).toEqual(address);
  });

  it.each(['entitlement', 'unix:/tmp/grpc.sock', 'host:0', 'host:70000', 'undefined', ''])(
    'has no address for %s (no probe then)',
    (target) => {
      expect(targetAddress(target)).toBeUndefined();
    },
  );
});

describe('TLS errors that may be transient', () => {
  it.each(['tlsv1 alert internal error', 'decryption failed or bad record mac'])(
    'leaves %s to be an outage',
    (error) => {
      expect(
        tlsFailure(lastError(`800C:error:0A000438:SSL routines:ssl3_read_bytes:${error}`)),
      ).toBeUndefined();
    },
  );

  it('names a handshake whose ends share no TLS version', () => {
    expect(
      tlsFailure(
        lastError('800C:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version'),
      ),
    ).toMatch(/share no TLS version/);
  });
});
