// "Split it across Macs": the host checks against a stand-in `ssh` on PATH (it records its argv
// and answers as ssh would: a refused key, another mlx, a model not downloaded), the flag, and the
// wizard's step through the scripted prompter.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { buildCatalogue } from '../hub/catalogue.js';
import { GiB } from '../hub/fit.js';
import type { Group } from '../config/plan.js';
import { parseSetupFlags } from './flags.js';
import { buildPlan } from './build-plan.js';
import { checkHosts, groupOf, parseHosts, remoteCommand, splitFitReport } from './split.js';
import { runSetup } from './run.js';
import { findFreePort } from '../servers/ports.js';
import { makeTestCtx } from '../wizard/test-helpers.js';
import { splitRole, rolesToSplit } from '../wizard/steps/split.js';
import type { Survey } from '../wizard/survey.js';

let dir: string;
let env: Record<string, string>;
const log = () => join(dir, 'ssh.log');
const BIG = 'mlx-community/Qwen3-Coder-480B-A35B-Instruct-4bit';
const freePort = () => findFreePort('127.0.0.1', 20_000 + Math.floor(Math.random() * 20_000));

beforeAll(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-split-'));
  const venv = join(dir, 'venv', 'bin');
  const bin = join(dir, 'bin');
  fs.mkdirSync(venv, { recursive: true });
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(join(venv, 'mlx_lm.server'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(join(venv, 'python'), '#!/bin/sh\necho "0.32.4 0.32.2"\n', { mode: 0o755 });
  // ssh [-o X]... host 'remote command': each call's argv on one line, fields split by \x1f.
  fs.writeFileSync(
    join(bin, 'ssh'),
    `#!/bin/sh
for a in "$@"; do printf '%s\\037' "$a"; done >> "${join(dir, 'ssh.log')}"; printf '\\036' >> "${join(dir, 'ssh.log')}"
host=$5; cmd=$6
case "$host" in
  mac3.local) echo "mac3.local: Permission denied (publickey)." >&2; exit 255;;
esac
case "$cmd" in
  true) exit 0;;
  *mlx.core*) if [ "$host" = mac4.local ]; then echo "0.31.0 0.30.1"; else echo "0.32.4 0.32.2"; fi;;
  *snapshot_download*) if [ "$host" = mac5.local ]; then echo "huggingface_hub.errors.LocalEntryNotFoundError: not in the cache" >&2; exit 1; fi; echo "/Users/me/.cache/huggingface/hub/models--x/snapshots/abc";;
  sysctl*) echo 137438953472;;
  *) exit 127;;
esac
`,
    { mode: 0o755 },
  );
  env = { HOME: join(dir, 'home'), PATH: `${venv}:${bin}:/usr/bin:/bin`, HF_HUB_CACHE: join(dir, 'hf'), HF_HUB_OFFLINE: '1' };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const calls = (): string[][] => (fs.existsSync(log()) ? fs.readFileSync(log(), 'utf8').split('\x1e').filter(Boolean).map((l) => l.split('\x1f').slice(0, -1)) : []);
const brief = (cs: Array<{ id: string; status: string; observed?: string }>) => cs.map((c) => `${c.status} ${c.id}${c.observed ? `: ${c.observed}` : ''}`);
const group = (raw: string): Group => {
  const h = parseHosts(raw);
  if ('problem' in h) throw new Error(h.problem);
  const g = groupOf(h.hosts);
  if ('problem' in g) throw new Error(g.problem);
  return g.group;
};

describe('the remote command', () => {
  it('the remote shell gets exactly the argv (spaces, quotes, ;, $)', () => {
    const argv = ['/opt/venv/bin/python', '-c', "import a, b; print('x', \"y\")", 'org/m', '$HOME', "it's"];
    const back = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${remoteCommand(argv)}`], { encoding: 'utf8' }).split('\0').slice(0, -1);
    expect(back).toEqual(argv);
  });
});

describe('checkHosts with a stand-in ssh', () => {
  it('each other Mac: ssh (BatchMode, ConnectTimeout 5), the same mlx/mlx-lm, the model files; a refused key and a version mismatch fail with what to do', async () => {
    fs.rmSync(log(), { force: true });
    const g = group('mac1.local=10.0.0.1,mac2.local=10.0.0.2,mac3.local=10.0.0.3,mac4.local=10.0.0.4,mac5.local=10.0.0.5');
    const r = await checkHosts({ group: g, model: 'org/big', env, timeoutMs: 5000 });
    expect(r.ok).toBe(false);
    expect(brief(r.checks)).toEqual([
      'pass split.host.mac1.local.ssh', 'pass split.host.mac1.local.versions', 'pass split.host.mac1.local.files',
      'pass split.host.mac2.local.ssh', 'pass split.host.mac2.local.versions', 'pass split.host.mac2.local.files',
      'fail split.host.mac3.local.ssh: ssh mac3.local failed: mac3.local: Permission denied (publickey).',
      'pass split.host.mac4.local.ssh', 'fail split.host.mac4.local.versions: mlx, mlx-lm 0.31.0 0.30.1 on mac4.local; 0.32.4 0.32.2 here', 'pass split.host.mac4.local.files',
      'pass split.host.mac5.local.ssh', 'pass split.host.mac5.local.versions', 'fail split.host.mac5.local.files: org/big is not downloaded on mac5.local',
    ]);
    expect(r.checks.find((c) => c.id.endsWith('mac3.local.ssh'))!.fix).toMatch(/key-based ssh .*Remote Login/);
    expect(r.checks.find((c) => c.id.endsWith('mac4.local.versions'))!.fix).toBe('Install mlx and mlx-lm 0.32.4 and 0.32.2 on mac4.local.');
    expect(r.memory.get('mac2.local')).toBe(128 * GiB);
    const c = calls();
    expect(c[0]).toEqual(['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', 'mac1.local', 'true']);
    expect(c[1]).toEqual(['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', 'mac1.local', `${join(dir, 'venv', 'bin', 'python')} -c 'import mlx.core as m, mlx_lm as l; print(m.__version__, l.__version__)'`]);
    expect(c[2]![5]).toMatch(/snapshot_download.* org\/big$/s);
    // After the refused key, nothing more is asked of mac3.
    expect(c.filter((a) => a[4] === 'mac3.local')).toHaveLength(1);
  });

  it('127.0.0.1 is this Mac: no ssh at all', async () => {
    fs.rmSync(log(), { force: true });
    const r = await checkHosts({ group: group('127.0.0.1,127.0.0.1'), model: 'org/big', env });
    expect(r).toMatchObject({ ok: true, checks: [] });
    expect(calls()).toEqual([]);
  });
});

describe('--split-hosts', () => {
  it('becomes the editor deployment: rank 0 answers on its address', async () => {
    const input = parseSetupFlags(['--yes', '--editor', BIG, '--editor-port', '8090', '--split-hosts', 'mac1.local=10.0.0.1, mac2.local=10.0.0.2']);
    const { plan } = await buildPlan(input, { env, cwd: dir });
    expect(plan.roles.editor.deployments).toEqual([{ host: '10.0.0.1', port: 8090, group: { hosts: [{ ssh: 'mac1.local', address: '10.0.0.1' }, { ssh: 'mac2.local', address: '10.0.0.2' }] } }]);
    const local = parseSetupFlags(['--yes', '--editor', BIG, '--split-hosts', '127.0.0.1,127.0.0.1']);
    expect((await buildPlan(local, { env, cwd: dir })).plan.roles.editor.deployments[0]!.host).toBe('127.0.0.1');
  });
  it('plain errors: localhost, 127.0.0.1 mixed with another Mac, a name without an address, one host', () => {
    const err = (v: string) => {
      try {
        parseSetupFlags(['--yes', '--editor', BIG, '--split-hosts', v]);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err('localhost,127.0.0.1')).toMatch(/"localhost" is not accepted .*write 127\.0\.0\.1/);
    expect(err('127.0.0.1,mac2.local=10.0.0.2')).toMatch(/mixes 127\.0\.0\.1 with other machines/);
    expect(err('mac1.local,mac2.local=10.0.0.2')).toMatch(/host mac1\.local has no address/);
    expect(err('mac1.local=10.0.0.1')).toMatch(/at least two hosts/);
    expect(err('mac1.local=not-an-ip,mac2.local=10.0.0.2')).toMatch(/IPv4 address/);
  });
});

describe("the wizard's step", () => {
  async function ctxWith(script: Parameters<typeof makeTestCtx>[0]) {
    const t = await makeTestCtx(script, { env });
    t.ctx.survey = { catalogue: await buildCatalogue({ env, skipHub: true, memory: { totalBytes: 128 * GiB, source: 'override', platform: 'darwin' } }) } as unknown as Survey;
    t.ctx.answers.models.editor = { model: BIG, source: 'typed' };
    t.ctx.answers.context.editor = 8192;
    return t;
  }

  it('a model too big for this Mac: the hosts asked, checked, the split fit shown, the group kept for the plan', async () => {
    fs.rmSync(log(), { force: true });
    const t = await ctxWith([
      ['split.editor', 'split'],
      ['split.editor.hosts', 'mac3.local=10.0.0.3'],
      ['split.editor.self', 'mac1.local=10.0.0.1'],
      ['split.editor.failed', 'again'],
      ['split.editor.hosts', 'mac2.local=10.0.0.2,mac6.local=10.0.0.6'],
      ['split.editor.self', 'mac1.local=10.0.0.1'],
    ]);
    try {
      expect(rolesToSplit(t.ctx)).toEqual(['editor']);
      await splitRole(t.ctx, 'editor');
      expect(t.prompter.remaining()).toEqual([]);
      expect(t.ctx.answers.groups?.editor).toEqual({ hosts: [{ ssh: 'mac1.local', address: '10.0.0.1' }, { ssh: 'mac2.local', address: '10.0.0.2' }, { ssh: 'mac6.local', address: '10.0.0.6' }] });
      const notes = t.prompter.rec.notes.map((n) => `${n.kind} ${n.text}`);
      expect(notes).toContain('error mac3.local: ssh: ssh mac3.local failed: mac3.local: Permission denied (publickey).');
      expect(notes).toContain('success mac2.local: mlx, mlx-lm 0.32.4 0.32.2 (as here)');
      // The split fit: one line per rank, against each host's own budget (sysctl over ssh: 128 GB).
      expect(notes.filter((n) => /rank \d on /.test(n))).toHaveLength(2 + 3); // both tries
      expect(notes.some((n) => /rank 1 on mac2\.local \(10\.0\.0\.2\).* of 96 GB/.test(n))).toBe(true);
      expect(t.prompter.rec.questions.get('split.editor')!.flag).toBe('--split-hosts H1,H2');
    } finally {
      await t.cleanup();
    }
  });

  it('"Keep it on this Mac": no group, no ssh', async () => {
    fs.rmSync(log(), { force: true });
    const t = await ctxWith([['split.editor', 'keep']]);
    try {
      await splitRole(t.ctx, 'editor');
      expect(t.ctx.answers.groups?.editor).toBeUndefined();
      expect(calls()).toEqual([]);
    } finally {
      await t.cleanup();
    }
  });

  it('a model that fits is not offered a split', async () => {
    const t = await ctxWith([]);
    try {
      t.ctx.answers.models.editor = { model: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', source: 'typed' };
      expect(rolesToSplit(t.ctx)).toEqual([]);
    } finally {
      await t.cleanup();
    }
  });
});

describe('setup --dry-run --split-hosts says what the host checks found (T5)', () => {
  const mem128 = () => buildCatalogue({ env, skipHub: true, memory: { totalBytes: 128 * GiB, source: 'override', platform: 'darwin' } });
  const dryRun = async (hosts: string) => {
    const root = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-split-dry-'));
    const said: string[] = [];
    try {
      const dryEnv = { ...env, HOME: join(root, 'home'), XDG_CONFIG_HOME: join(root, 'home', '.config') };
      const input = parseSetupFlags(['--yes', '--dry-run', '--editor', BIG, '--context', '8192', '--mode', 'direct', '--editor-port', String(await freePort()), '--timeout', '1', '--split-hosts', hosts]);
      // The run may stop later (the rank-0 server cannot answer here): what was said before counts.
      await runSetup(input, { env: dryEnv, cwd: root, catalogue: await mem128(), say: (l) => said.push(`say ${l}`), progress: (l) => said.push(`progress ${l}`) }).catch(() => undefined);
      expect(fs.existsSync(join(root, 'home', '.config', 'aider-mlx', 'plan.yaml'))).toBe(false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
    return said;
  };

  it('a refused key: the check that failed, what to do, and a result line, before the split fit', async () => {
    const said = await dryRun('mac1.local=10.0.0.1,mac3.local=10.0.0.3');
    const checking = said.findIndex((l) => /^progress Checking each host of the group over ssh \(mac1\.local, mac3\.local\)/.test(l));
    const result = said.findIndex((l) => l.startsWith('say Hosts: '));
    expect(checking).toBeGreaterThanOrEqual(0);
    expect(said[result]).toBe('say Hosts: 1 check failed (✗ above): fix it and run setup again; nothing is written while a check fails (unless --force).');
    expect(said.slice(checking + 1, result).join('\n')).toMatch(/^say Dry run: the host checks only read over ssh[^\n]*\nsay {3}✗ mac3\.local: ssh\n {6}observed: ssh mac3\.local failed: mac3\.local: Permission denied \(publickey\)\.\n {6}fix: Set up key-based ssh/);
    expect(result).toBeLessThan(said.findIndex((l) => l.startsWith('say Split: ')));
  });

  it('every host ready: one line naming them', async () => {
    const said = await dryRun('mac1.local=10.0.0.1,mac2.local=10.0.0.2');
    expect(said).toContain('say Hosts: mac1.local, mac2.local ready (ssh, the same mlx and mlx-lm, the model\'s files).');
    expect(said.filter((l) => /✗/.test(l) && l.startsWith('say '))).toEqual([]);
  });
});

describe('the split fit, the same lines on both faces', () => {
  const mem128 = () => buildCatalogue({ env, skipHub: true, memory: { totalBytes: 128 * GiB, source: 'override', platform: 'darwin' } });

  it('per rank: its host, its share of the weights, its KV, against that host budget, and the verdict', async () => {
    const r = await splitFitReport({ group: group('127.0.0.1,127.0.0.1'), model: BIG, context: 8192, catalogue: await mem128(), env });
    expect(r.kind).toBe('warn');
    expect(r.lines[0]).toMatch(/^Split: /);
    const ranks = r.lines.filter((l) => /^ {2}rank \d on /.test(l));
    expect(ranks).toHaveLength(2);
    for (const [i, l] of ranks.entries()) {
      // Two ranks on one Mac share its budget (96 GB of 128 GB): 48 GB each.
      expect(l).toMatch(new RegExp(`^  rank ${i} on 127\\.0\\.0\\.1 \\(1/2 of each layer\\): weights [\\d.]+ GB \\+ KV [\\d.]+ [KMG]B \\+ runtime [\\d.]+ GB = (at least )?[\\d.]+ GB of 48 GB \\(\\d+%\\) → (fits|tight|too-big)$`));
    }
    // 480B at 4 bits is far over 2 × 48 GB.
    expect(r.lines.at(-1)).toBe('The group: too big even split.');
  });

  it('setup --yes --split-hosts says them before the checks and the write; the wizard notes the same lines', async () => {
    const catalogue = await mem128();
    const shown: string[] = [];
    const root = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-split-yes-'));
    try {
      const yesEnv = { ...env, HOME: join(root, 'home'), XDG_CONFIG_HOME: join(root, 'home', '.config') };
      const input = parseSetupFlags(['--yes', '--editor', BIG, '--context', '8192', '--mode', 'direct', '--editor-port', String(await freePort()), '--timeout', '1', '--split-hosts', '127.0.0.1,127.0.0.1']);
      const result = await runSetup(input, { env: yesEnv, cwd: root, catalogue, say: (l) => shown.push(`say ${l}`), progress: (l) => shown.push(`progress ${l}`) });
      const expected = (await splitFitReport({ group: input.split!, model: BIG, context: 8192, catalogue, env: yesEnv })).lines;
      expect(shown.filter((l) => l.startsWith('say ')).map((l) => l.slice(4))).toEqual(expected);
      expect(result.split).toEqual(expected);
      // Before the servers are checked (and so before anything could be written).
      expect(shown.findIndex((l) => l.startsWith('say Split: '))).toBeLessThan(shown.findIndex((l) => /completion/.test(l)));

      const t = await makeTestCtx([['split.editor', 'split'], ['split.editor.hosts', '127.0.0.1'], ['split.editor.failed', 'keep'], ['split.editor', 'keep']], { env });
      try {
        t.ctx.survey = { catalogue } as unknown as Survey;
        t.ctx.answers.models.editor = { model: BIG, source: 'typed' };
        t.ctx.answers.context.editor = 8192;
        await splitRole(t.ctx, 'editor');
        const notes = t.prompter.rec.notes.map((n) => n.text);
        expect(notes.slice(notes.indexOf(expected[0]!), notes.indexOf(expected[0]!) + expected.length)).toEqual(expected);
      } finally {
        await t.cleanup();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
