import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NginxPorts {
  listen: number;
  upstream: number;
  authCheck: number;
  gateways: number[];
}

/**
 * One nginx (Debian's package, its own config in `dir`, one worker) in front of the demo
 * upstream, three ways:
 *   /demo/     (b) a plain keep-alive reverse proxy
 *   /checked/  (e) the same, behind `auth_request` to a per-request entitlement check over HTTP
 *   /replicas/ (f) round-robin over the paygate gateway replicas
 */
export function startNginx(dir: string, ports: NginxPorts): ChildProcess {
  const conf = join(dir, 'nginx.conf');
  const keepAlive = `
      proxy_http_version 1.1;
      proxy_set_header Connection "";`;
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream demo { server 127.0.0.1:${ports.upstream}; keepalive 64; }
  upstream authcheck { server 127.0.0.1:${ports.authCheck}; keepalive 64; }
  upstream paygate {
${ports.gateways.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${ports.listen};
    location /demo/ {
      proxy_pass http://demo/;${keepAlive}
    }
    location /checked/ {
      auth_request /_check;
      proxy_pass http://demo/;${keepAlive}
    }
    location = /_check {
      internal;
      proxy_pass http://authcheck/check;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";${keepAlive}
    }
    location /replicas/ {
      proxy_pass http://paygate/;${keepAlive}
    }
  }
}
`,
  );
  return spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}
