import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkPins,
  compromisedConstraints,
  describePeers,
  ensurePeers,
  findCompromised,
  parsePin,
  PEER_NAMES,
  pinsHash,
  readCompromised,
  readPins,
  type Peers,
  type Pins,
} from './bootstrap.js';
import { childEnv, cleanupTemp } from './harness.js';

const INSTALL_TIMEOUT = 45 * 60_000;

describe('pins and the compromised list (no install)', () => {
  const pins = readPins();
  const compromised = readCompromised();

  it('reads data/compromised.json, which lists the known-bad litellm releases', () => {
    expect(compromised.litellm).toEqual(expect.arrayContaining(['1.82.7', '1.82.8']));
  });

  it('parses exact pins only', () => {
    expect(parsePin('litellm[proxy]==1.108.7')).toEqual({ name: 'litellm', version: '1.108.7' });
    expect(parsePin('mlx_lm[cpu] == 0.32.2')).toEqual({ name: 'mlx-lm', version: '0.32.2' });
    expect(parsePin('aider-chat>=0.86')).toBeNull();
    expect(parsePin('aider-chat')).toBeNull();
  });

  it('accepts the committed pins.json', () => {
    expect(() => checkPins(pins, compromised)).not.toThrow();
    for (const name of PEER_NAMES) {
      expect(parsePin(pins[name].requirement), name).not.toBeNull();
    }
  });

  it.each(['1.82.7', '1.82.8'])('refuses litellm %s with a clear error', (v) => {
    const bad: Pins = { ...pins, litellm: { ...pins.litellm, requirement: `litellm[proxy]==${v}` } };
    expect(() => checkPins(bad, compromised)).toThrow(new RegExp(`refusing to install litellm==${v.replace(/\./g, '\\.')}.*known-compromised`));
    // spelled differently, still refused
    const bad2: Pins = { ...pins, aider: { ...pins.aider, requirement: `LiteLLM == ${v}` } };
    expect(() => checkPins(bad2, compromised)).toThrow(/known-compromised/);
  });

  it('refuses a range instead of a pin', () => {
    const loose: Pins = { ...pins, aider: { ...pins.aider, requirement: 'aider-chat>=0.86' } };
    expect(() => checkPins(loose, compromised)).toThrow(/not an exact/);
  });

  it('turns the list into pip constraints so no resolver can pick a bad release', () => {
    expect(compromisedConstraints({ litellm: ['1.82.7', '1.82.8'] })).toEqual(['litellm!=1.82.7,!=1.82.8']);
    expect(findCompromised({ litellm: '1.82.8', openai: '1.0' }, compromised)).toMatch(/litellm==1\.82\.8/);
    expect(findCompromised({ litellm: '1.81.10' }, compromised)).toBeNull();
  });

  it('hashes the pins file content (a change means a new venv set)', () => {
    const text = fs.readFileSync(path.join(import.meta.dirname, 'pins.json'), 'utf8');
    expect(pinsHash(text)).toMatch(/^[0-9a-f]{12}$/);
    expect(pinsHash(text)).not.toBe(pinsHash(text.replace('0.86.2', '0.86.1')));
  });
});

describe('real peers are installed (cold: a few minutes, warm: instant)', () => {
  let peers: Peers;
  const pins = readPins();

  afterAll(() => cleanupTemp());

  beforeAll(async () => {
    const t0 = Date.now();
    peers = await ensurePeers();
    console.log(`[peers] ${peers.dir} (${((Date.now() - t0) / 1000).toFixed(1)}s)\n${describePeers(peers)}`);
  }, INSTALL_TIMEOUT);

  it.for([...PEER_NAMES])('%s: pinned version installed, console script runs', { timeout: 120_000 }, (name, ctx) => {
    const got = peers[name];
    if (!got) {
      const why = `peer ${name} not installed: ${peers.errors[name]}`;
      console.warn(why);
      ctx.skip(why);
      return;
    }
    expect(got.version).toBe(parsePin(pins[name].requirement)!.version);
    expect(got.venv.startsWith(peers.dir)).toBe(true);
    expect(fs.existsSync(path.join(got.venv, '.aider-mlx-peer.json'))).toBe(true);
    const help = execFileSync(got.bin, ['--help'], { encoding: 'utf8', timeout: 60_000, env: childEnv() });
    expect(help).toMatch(/usage|Usage|--port|--model/);
    // no known-compromised release anywhere, e.g. aider's own pinned litellm
    expect(findCompromised(got.versions, readCompromised())).toBeNull();
  });

  it('aider pulls its own litellm, and it is not a compromised release', (ctx) => {
    if (!peers.aider) ctx.skip(`peer aider not installed: ${peers.errors.aider}`);
    const v = peers.aider!.versions.litellm;
    expect(v).toMatch(/^\d+\.\d+\.\d+/);
    expect(readCompromised().litellm).not.toContain(v);
  });
});
