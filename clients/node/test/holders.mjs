// Forked lease holders and the repeat check of what they issued.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

export class Holder {
  constructor(n, config) {
    this.n = n;
    this.chunks = [];
    this.count = 0;
    this.holding = false;
    this.stats = null;
    this.proc = fork(join(HERE, 'holder.mjs'), [], {
      serialization: 'advanced',
      env: { ...process.env, HOLDER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.done = new Promise((resolve) => {
      this.proc.on('message', (m) => {
        if (m.ids) {
          this.chunks.push(m.ids);
          this.count += m.ids.length;
        }
        if (m.holding !== undefined) this.holding = m.holding;
        if (m.done) this.stats = m.done;
      });
      this.proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  send(m) {
    if (this.proc.connected) this.proc.send(m);
  }

  async stop(timeoutMs = 10000) {
    this.send({ stop: true });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await this.done;
    clearTimeout(t);
  }
}

/** { total, repeats } over every ID the holders recorded (sorted, then adjacent equals). */
export function countRepeats(holders) {
  const total = holders.reduce((s, h) => s + h.count, 0);
  const all = new BigInt64Array(total);
  let at = 0;
  for (const h of holders) for (const c of h.chunks) { all.set(c, at); at += c.length; }
  all.sort();
  let repeats = 0;
  for (let i = 1; i < all.length; i++) if (all[i] === all[i - 1]) repeats++;
  return { total, repeats };
}
