const { destination } = require('pino');
const { AccessLog } = require('./dist/apps/gateway/src/proxy/access-log');
const mode = process.argv[2]; const min = Number(process.argv[3] || 2047);
if (mode !== 'none') void process.stdout;
const dest = mode === 'none' ? null : destination({ dest: 1, sync: mode.startsWith('sync'), ...(mode === 'sync' ? {} : { minLength: min, maxWrite: 4096, maxLength: 16 << 20, periodicFlush: 1000 }) });
const entry = { requestId: 'b1a87d2c-60a7-4d76-9c60-6d81c20fefaf', leaseId: 'b420440e-9690-44f0-99a3-01f6573b7b30', method: 'GET', url: '/demo/x', statusCode: 200, ms: 3 };
let n = 0; const c0 = process.cpuUsage();
const t = setInterval(() => { for (let i = 0; i < 30; i++) { const l = AccessLog.line('gateway', entry, Date.now()); if (dest) dest.write(l); n++; } }, 10);
setTimeout(() => { clearInterval(t); const c = process.cpuUsage(c0); process.stderr.write(`${mode} ${min}: ${((c.user + c.system) / n).toFixed(2)} µs CPU per line (${n} lines)\n`); process.exit(0); }, 5000);
