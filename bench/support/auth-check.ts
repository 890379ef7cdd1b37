/**
 * bench/gateway's target (e): the check users build by hand behind nginx `auth_request`, and the
 * remote-check-per-request design of verify-style products. Each request nginx asks about costs
 * one decision over gRPC (reserve 1 unit) and one settlement (close the lease: the unit is
 * charged) before nginx proxies it, so it is as exact as paygate: nothing is served uncharged.
 *   PORT=… ENTITLEMENT_GRPC_PORT=… node dist/bench/support/auth-check.js
 */
import { createServer } from 'node:http';
import { EntitlementGrpcClient } from '@paygate/testing';

const port = Number(process.env.PORT ?? 0);
const entitlement = new EntitlementGrpcClient(Number(process.env.ENTITLEMENT_GRPC_PORT));

const server = createServer((req, res) => {
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey !== 'string') {
    res.writeHead(401).end();
    return;
  }
  entitlement
    .check(apiKey, 1, 'requests', 1)
    .then(async (decision) => {
      if (!decision.allowed) {
        // auth_request passes 401 and 403 on; anything else would become a 500.
        res.writeHead(403).end();
        return;
      }
      await entitlement.release(decision.leaseId, 'served', 0, true);
      res.writeHead(204).end();
    })
    .catch((err: unknown) => {
      console.error(err);
      res.writeHead(500).end();
    });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
