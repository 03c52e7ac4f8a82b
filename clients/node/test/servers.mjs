// Start and stop real redis-server processes with the idgen module, on free loopback ports.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function modulePath() {
  return process.env.IDGEN_MODULE || join(REPO, 'target', 'release', 'libidgen.so');
}

export function serverBin() {
  return process.env.IDGEN_SERVER || process.env.REDIS_SERVER || 'redis-server';
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** One raw command over a fresh socket; resolves with the reply text (first line or more). */
export function rawCommand(port, args, timeoutMs = 1000) {
  return new Promise((res, rej) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const t = setTimeout(() => { sock.destroy(); rej(new Error('timeout')); }, timeoutMs);
    sock.on('error', (e) => { clearTimeout(t); rej(e); });
    sock.on('connect', () => {
      sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join(''));
    });
    sock.on('data', (d) => {
      buf += d.toString();
      const first = buf.indexOf('\r\n');
      if (first < 0) return;
      if (buf[0] === '$') {
        const n = Number(buf.slice(1, first));
        if (n >= 0 && buf.length < first + 2 + n + 2) return;
      }
      clearTimeout(t);
      sock.destroy();
      res(buf);
    });
  });
}

export class RedisServer {
  constructor({ dir, extra = [], port } = {}) {
    this.dir = dir || mkdtempSync(join(tmpdir(), 'idgen-node-'));
    this.ownDir = !dir;
    this.port = port;
    this.extra = extra;
    this.proc = null;
  }

  get log() {
    return join(this.dir, 'redis.log');
  }

  args() {
    return [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--logfile', this.log,
      '--save', '', '--appendonly', 'yes', '--enable-debug-command', 'yes',
      '--repl-diskless-sync-delay', '0', '--notify-keyspace-events', 'Kd',
      '--loadmodule', modulePath(), ...this.extra,
    ];
  }

  async start(timeoutMs = 15000) {
    if (!existsSync(modulePath())) {
      throw new Error(`idgen module not found at ${modulePath()}: run \`make build\` or set IDGEN_MODULE`);
    }
    if (!this.port) this.port = await freePort();
    const proc = spawn(serverBin(), this.args(), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.proc = proc;
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.unref();
    const giveUp = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`redis-server exited (${proc.exitCode ?? proc.signalCode}): ${stderr}\n${this.tail()}`);
      }
      try {
        const info = await rawCommand(this.port, ['INFO', 'persistence']);
        if (info.startsWith('$') && /loading:0/.test(info)) return this;
      } catch { /* not yet */ }
      if (Date.now() > giveUp) {
        await this.stop();
        throw new Error(`redis-server on ${this.port} did not start\n${this.tail()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  tail(n = 30) {
    try {
      return readFileSync(this.log, 'utf8').split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  }

  async kill9() {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const done = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await done;
    }
    this.proc = null;
  }

  async stop() {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const done = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    }
    this.proc = null;
  }

  async cleanup() {
    await this.stop();
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

let counter = 0;
/** A key name unique to this process and call. */
export function uniq(prefix = 'k') {
  return `${prefix}:${process.pid}:${++counter}:${Math.random().toString(36).slice(2, 8)}`;
}

/** Clients of both libraries, connected to `port`. kind: 'ioredis' | 'node-redis'. */
export async function connect(kind, port, extra = {}) {
  if (kind === 'ioredis') {
    const { default: Redis } = await import('ioredis');
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, ...extra });
    c.on('error', () => {}); // reconnects are expected in the fault tests
    await c.connect();
    return c;
  }
  const { createClient } = await import('redis');
  const c = createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: 50 }, ...extra });
  c.on('error', () => {});
  await c.connect();
  return c;
}

export async function disconnect(c) {
  try {
    if (typeof c.call === 'function') c.disconnect();
    else if (typeof c.destroy === 'function') c.destroy();
    else await c.disconnect();
  } catch { /* already gone */ }
}

export const KINDS = ['ioredis', 'node-redis'];
