/** setup --yes and ports another program holds (D5): moved as the wizard's proposal moves them; a flag's port is kept. */
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../servers/ports.js';
import { parseSetupFlags } from './flags.js';
import { prepareYes } from './yes.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const PAGE = '<!DOCTYPE HTML>\n<html lang="en">\n<head><meta charset="utf-8"><title>Error response</title></head><body><p>Error code: 501</p></body></html>\n';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** Something that is not mlx_lm.server, as `python3 -m http.server` answers, on a port of its own. */
async function htmlServer(): Promise<number> {
  const srv = http.createServer((req, res) => {
    res.writeHead(req.method === 'POST' ? 501 : 404, { 'Content-Type': 'text/html' });
    res.end(PAGE);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => srv.close(() => r())));
  return (srv.address() as net.AddressInfo).port;
}

const prepare = (port: number, given: string[]) =>
  prepareYes(
    { ...parseSetupFlags(['--yes', '--editor', EDITOR, '--mode', 'direct', '--editor-port', String(port)]) },
    { env: { HOME: '/nonexistent-home', PATH: '/usr/bin:/bin' }, cwd: '/', given: new Set(['yes', 'editor', 'mode', ...given]), catalogue: async () => Promise.reject(new Error('none')), findRunning: async () => new Map() },
  );

describe('setup --yes with the port held by another program', () => {
  it('no --editor-port given: the next free port instead, and said so', async () => {
    const held = await htmlServer();
    const r = await prepare(held, []);
    expect(r.input.editorPort).not.toBe(held);
    expect(r.input.editorPort).toBeGreaterThan(held);
    const line = r.chosen.find((l) => l.includes(`${held} is held by`));
    expect(line).toMatch(new RegExp(`^ports: ${held} is held by .*: ${r.input.editorPort} instead$`));
    expect(line).not.toMatch(/[<>]/);
    // and the port it moved to is free
    expect(await findFreePort('127.0.0.1', r.input.editorPort)).toBe(r.input.editorPort);
  });

  it('the holder named by its command line, with a key on it redacted', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    // A short command line, so the key falls within what is shown of it.
    const dir = mkdtempSync(join(tmpdir(), 'h-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'h.js'), "const s=require('net').createServer(c=>c.destroy()).listen(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'))");
    const child = spawn('node', [join(dir, 'h.js'), '--api-key', 'sk-proj-abcdefghijklmnop1234'], { stdio: ['ignore', 'pipe', 'ignore'] });
    closers.push(async () => void child.kill());
    const held = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const r = await prepare(held, []);
    const line = r.chosen.find((l) => l.includes(`${held} is held by`))!;
    expect(line).toContain(`pid ${child.pid}`);
    expect(line).not.toContain('sk-proj-abcdef');
    expect(line).toContain('--api-key <redacted>');
  });

  it('--editor-port given: kept as given (the servers\' check refuses it, saying who holds it)', async () => {
    const held = await htmlServer();
    const r = await prepare(held, ['editor-port']);
    expect(r.input.editorPort).toBe(held);
    expect(r.chosen.join('\n')).not.toContain('is held by');
  });
});
