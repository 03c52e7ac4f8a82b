// `npm pack` gives an installable tarball: install it into an empty project (with ioredis and
// redis from the local npm cache) and require + import it there with both clients.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { RedisServer } from './servers.mjs';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
let srv;
let work;
before(async () => {
  srv = await new RedisServer().start();
  work = mkdtempSync(join(tmpdir(), 'idgen-pack-'));
});
after(async () => {
  await srv?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180000 });

it('npm pack installs into an empty project; require and import work there', { timeout: 240000 }, () => {
  const out = JSON.parse(npm(['pack', '--json', '--pack-destination', work], PKG));
  const files = out[0].files.map((f) => f.path);
  assert.ok(files.includes('dist/cjs/index.js') && files.includes('dist/esm/index.d.ts') && files.includes('README.md'), files.join());
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'sources and tests are not shipped');
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const ioredis = require_version('ioredis');
  const redis = require_version('redis');
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, tgz), `ioredis@${ioredis}`, `redis@${redis}`], app);
  const script = (importLine) => `
${importLine}
const port = Number(process.env.PORT);
const io = new Redis({ port });
const nr = createClient({ socket: { port } });
await nr.connect();
const out = [];
for (const c of [io, nr]) {
  const g = await LeasedSnowflake.acquire(c, 'pack:pool', { ttlMs: 2000 });
  const seq = new SegmentSequence(c, 'pack:seq', { segment: 10 });
  const router = await TaskRouter.create(c, 'pack:pool', { events: false });
  out.push(typeof g.nextId(), router.route('t') === g.workerId, typeof (await seq.next()));
  await router.close(); await seq.close(); await g.close();
}
io.disconnect(); await nr.quit();
console.log(JSON.stringify(out));
`;
  writeFileSync(join(app, 'use.mjs'), script(`import { LeasedSnowflake, SegmentSequence, TaskRouter } from 'idgen-client';
import Redis from 'ioredis';
import { createClient } from 'redis';`));
  writeFileSync(join(app, 'use.cjs'), `(async () => {${script(`const { LeasedSnowflake, SegmentSequence, TaskRouter } = require('idgen-client');
const Redis = require('ioredis');
const { createClient } = require('redis');`)}})().catch((e) => { console.error(e); process.exit(1); });`);
  // The .d.ts declarations type-check for an ES module and a CommonJS TypeScript consumer.
  const ts = `import { LeasedSnowflake, SegmentSequence, TaskRouter, LeaseLost, type Lease } from 'idgen-client';
import { Redis } from 'ioredis';
export async function main(): Promise<void> {
  const r = new Redis();
  const g: LeasedSnowflake = await LeasedSnowflake.acquire(r, 'p', { ttlMs: 1000, holder: 'h' });
  const id: bigint = g.nextId();
  const p: { timestamp: number; worker: number; sequence: number } = g.parse(id);
  const v: bigint = await new SegmentSequence(r, 'k', { segment: 10, prefetchAt: 0.8 }).next();
  const router = await TaskRouter.create(r, 'p');
  const w: number | null = router.route('t');
  const l: Lease | null = router.owner('t');
  try { g.nextId(); } catch (e) { if (e instanceof LeaseLost) { const f: boolean = e.final; void f; } }
  void p; void v; void w; void l;
}
`;
  writeFileSync(join(app, 'use.mts'), ts);
  writeFileSync(join(app, 'use.cts'), ts);
  execFileSync(process.execPath, [join(PKG, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2020', '--skipLibCheck',
    '--types', 'node', '--typeRoots', join(PKG, 'node_modules', '@types'), 'use.mts', 'use.cts'], { cwd: app, encoding: 'utf8' });

  const expect = JSON.stringify(['bigint', true, 'bigint', 'bigint', true, 'bigint']);
  for (const f of ['use.mjs', 'use.cjs']) {
    const got = execFileSync(process.execPath, [f], { cwd: app, env: { ...process.env, PORT: String(srv.port) }, encoding: 'utf8', timeout: 30000 });
    assert.equal(got.trim(), expect, f);
  }
});

function require_version(name) {
  return JSON.parse(execFileSync(process.execPath, ['-p', `JSON.stringify(require('${name}/package.json').version)`], { cwd: PKG, encoding: 'utf8' }));
}
