import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import JSON5 from 'json5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import net from 'node:net';
import { cli, flat, ROOT, sandbox, standInProcess, type Sandbox } from './helpers.js';
import { selfCommand } from '../../src/lib/paths.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const ARCHITECT = 'mlx-community/QwQ-32B-4bit';
let editor: FakeMlxServer;
let architect: FakeMlxServer;

beforeAll(async () => {
  editor = await startFakeMlxServer({ model: EDITOR });
  architect = await startFakeMlxServer({ model: ARCHITECT });
});
afterAll(async () => {
  await editor.close();
  await architect.close();
});

// Proxy mode is asked for: without --mode, a PATH without LiteLLM would get direct mode.
const flags = (extra: string[] = []) => [
  'setup', '--yes', ...(extra.includes('--mode') ? [] : ['--mode', 'proxy']),
  '--editor', EDITOR, '--editor-port', String(editor.port),
  '--architect', ARCHITECT, '--architect-port', String(architect.port),
  '--proxy-port', '4999', '--timeout', '10',
  ...extra,
];

const files = (s: Sandbox) => ({
  plan: join(s.config, 'plan.yaml'),
  litellm: join(s.config, 'litellm.yaml'),
  conf: join(s.repo, '.aider.conf.yml'),
  settings: join(s.repo, '.aider.model.settings.yml'),
  metadata: join(s.repo, '.aider.model.metadata.json'),
});

function snapshot(s: Sandbox): Record<string, string | null> {
  return Object.fromEntries(Object.entries(files(s)).map(([k, p]) => [k, existsSync(p) ? readFileSync(p, 'utf8') : null]));
}

const backups = (s: Sandbox) => (existsSync(join(s.config, 'backups')) ? readdirSync(join(s.config, 'backups')) : []);

describe('setup --yes against two stand-in servers', () => {
  const s = sandbox();

  it('writes the four files wired to each other, and the plan', async () => {
    const r = await cli(flags(), { cwd: s.repo, env: s.env });
    expect(r.stderr).not.toMatch(/Unexpected/);
    expect(r.code).toBe(0);
    const f = files(s);
    const lite = parse(readFileSync(f.litellm, 'utf8'));
    const conf = parse(readFileSync(f.conf, 'utf8'));
    const settings = parse(readFileSync(f.settings, 'utf8')) as Array<{ name: string; extra_params: { api_base: string } }>;
    const metadata = JSON5.parse(readFileSync(f.metadata, 'utf8')) as Record<string, unknown>;
    const modelNames = new Set(lite.model_list.map((e: { model_name: string }) => e.model_name));
    for (const key of ['model', 'editor-model', 'weak-model']) {
      expect(conf[key]).toMatch(/^openai\//);
      expect(modelNames.has(conf[key].slice(7))).toBe(true);
      expect(settings.some((e) => e.name === conf[key])).toBe(true);
      expect(metadata[conf[key]]).toBeTruthy();
    }
    const ports = lite.model_list.map((e: { litellm_params: { api_base: string } }) => e.litellm_params.api_base).sort();
    expect(ports).toEqual([`http://127.0.0.1:${editor.port}/v1`, `http://127.0.0.1:${architect.port}/v1`].sort());
    for (const e of lite.model_list) expect(e.litellm_params.model).toBe('openai/default_model');
    expect(conf['openai-api-base']).toBe('http://127.0.0.1:4999/v1');
    expect(conf.architect).toBe(true);
    // The proxy's master key: strong, shared by the proxy and Aider, never printed.
    const key = lite.general_settings.master_key as string;
    expect(key).toMatch(/^sk-aider-mlx-[0-9a-f]{48}$/);
    // Aider gets it from an env file outside the repository, never from the repository's file.
    expect(conf['openai-api-key']).toBeUndefined();
    expect(conf['env-file']).toBe(join(s.config, 'aider.env'));
    expect(readFileSync(conf['env-file'], 'utf8')).toMatch(new RegExp(`^AIDER_OPENAI_API_KEY=${key}$`, 'm'));
    expect(statSync(conf['env-file']).mode & 0o777).toBe(0o600);
    expect(r.stdout + r.stderr).not.toContain(key);
    expect(parse(readFileSync(f.plan, 'utf8')).roles.architect.model).toBe(ARCHITECT);
    // Files holding a key are 0600; the servers saw a real completion for the string we send.
    expect(statSync(f.conf).mode & 0o777).toBe(0o600);
    expect(statSync(f.litellm).mode & 0o777).toBe(0o600);
    expect(editor.requests.some((q) => q.method === 'POST' && (q.body as { model?: string })?.model === 'default_model')).toBe(true);
    expect(r.stdout).toMatch(/litellm --config ~\/\.config\/aider-mlx\/litellm\.yaml --host 127\.0\.0\.1 --port 4999/);
    expect(backups(s)).toEqual([]);
  });

  it('a second identical run changes nothing: byte-identical files and no backup set', async () => {
    const before = snapshot(s);
    const r = await cli(flags(), { cwd: s.repo, env: s.env });
    expect(r.code).toBe(0);
    expect(snapshot(s)).toEqual(before);
    expect(backups(s)).toEqual([]);
    expect(r.stdout).toMatch(/unchanged .*\.aider\.conf\.yml/);
  });

  it('going from two models to one removes the architect keys it wrote, with a backup of the old files', async () => {
    const r = await cli(['setup', '--yes', '--mode', 'proxy', '--editor', EDITOR, '--editor-port', String(editor.port), '--proxy-port', '4999', '--timeout', '10'], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(0);
    const conf = parse(readFileSync(files(s).conf, 'utf8'));
    expect(conf).not.toHaveProperty('architect');
    expect(conf).not.toHaveProperty('editor-model');
    const settings = parse(readFileSync(files(s).settings, 'utf8')) as Array<{ name: string }>;
    expect(settings.map((e) => e.name)).toEqual(['openai/mlx-qwen2.5-coder-7b-instruct-4bit']);
    const sets = backups(s);
    expect(sets).toHaveLength(1);
    const manifest = JSON.parse(readFileSync(join(s.config, 'backups', sets[0]!, 'manifest.json'), 'utf8'));
    expect(manifest.files.map((x: { path: string }) => x.path)).toContain(files(s).conf);
  });

  it('restore puts that set back, and its undo hint names this copy\'s command (a clone\'s bin)', async () => {
    const r = await cli(['restore', '--yes'], { cwd: s.repo, env: s.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\`${selfCommand().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} restore \\S+\` undoes this`));
    expect(r.stdout).not.toMatch(/`aider-mlx /);
  });
});

describe('setup --yes over existing files', () => {
  it("keeps every comment line of Aider's sample config", async () => {
    const s = sandbox();
    const sample = join(ROOT, 'test/fixtures/real-world/sample.aider.conf.yml');
    copyFileSync(sample, files(s).conf);
    const r = await cli(flags(), { cwd: s.repo, env: s.env });
    expect(r.code).toBe(0);
    const out = readFileSync(files(s).conf, 'utf8').split('\n');
    const comments = readFileSync(sample, 'utf8').split('\n').filter((l) => l.trim().startsWith('#'));
    for (const line of comments) expect(out).toContain(line);
    expect(parse(out.join('\n')).model).toBe('openai/mlx-qwq-32b-4bit');
    expect(backups(s)).toHaveLength(1);
  });

  it('stops when the user already set a model, names the safer scopes, and writes nothing; --force replaces it', async () => {
    const s = sandbox();
    writeFileSync(files(s).conf, '# mine\nmodel: gpt-4o\ndark-mode: true\n');
    const r = await cli(flags(), { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toMatch(/already sets model: gpt-4o/);
    expect(r.stderr).toMatch(/--scope profile/);
    expect(readFileSync(files(s).conf, 'utf8')).toBe('# mine\nmodel: gpt-4o\ndark-mode: true\n');
    expect(existsSync(files(s).plan)).toBe(false);

    const f = await cli(flags(['--force']), { cwd: s.repo, env: s.env });
    expect(f.code).toBe(0);
    const conf = readFileSync(files(s).conf, 'utf8');
    expect(conf).toContain('# mine');
    expect(parse(conf)['dark-mode']).toBe(true);
    expect(parse(conf).model).toBe('openai/mlx-qwq-32b-4bit');
  });

  it('never overwrites a malformed file: says file, line and column', async () => {
    const s = sandbox();
    const bad = 'model: a\n  bad: [unclosed\n';
    writeFileSync(files(s).conf, bad);
    const r = await cli(flags(), { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\.aider\.conf\.yml line \d+, column \d+/);
    expect(readFileSync(files(s).conf, 'utf8')).toBe(bad);
    expect(existsSync(files(s).settings)).toBe(false);
  });

  // D1: Aider reads the home folder's, the git root's and the current folder's .aider.conf.yml and
  // stops on a broken one, wherever it is: setup refuses each as it refuses the one it merges into.
  const BROKEN = 'model: openai/foo\n  bad-indent: [1, 2';
  for (const where of ['home', 'cwd below the git root'] as const) {
    it(`refuses a broken .aider.conf.yml in the ${where} too: file, line, what to do, exit 2, nothing written`, async () => {
      const s = sandbox();
      const cwd = where === 'home' ? s.repo : join(s.repo, 'sub');
      mkdirSync(cwd, { recursive: true });
      const broken = join(where === 'home' ? s.home : cwd, '.aider.conf.yml');
      writeFileSync(broken, BROKEN);
      const r = await cli(flags(['--mode', 'direct']), { cwd, env: s.env });
      expect(r.stderr).not.toMatch(/Unexpected/);
      expect(r.code).toBe(2);
      const shown = where === 'home' ? '~/.aider.conf.yml' : broken;
      expect(flat(r.stderr)).toContain(`${shown} line 1, column`);
      expect(flat(r.stderr)).toMatch(/fix it, or move it aside/);
      expect(readFileSync(broken, 'utf8')).toBe(BROKEN);
      expect(snapshot(s)).toEqual({ plan: null, litellm: null, conf: null, settings: null, metadata: null });
      expect(backups(s)).toEqual([]);
    });
  }

  it('a broken home .aider.conf.yml does not stop a profile setup (Aider reads a profile alone)', async () => {
    const s = sandbox();
    writeFileSync(join(s.home, '.aider.conf.yml'), BROKEN);
    const r = await cli(flags(['--mode', 'direct', '--scope', 'profile']), { cwd: s.repo, env: s.env });
    expect(r.stderr).not.toMatch(/Unexpected/);
    expect(r.code).toBe(0);
    expect(existsSync(files(s).plan)).toBe(true);
  });
});

describe("the user's own API keys (H3, L11)", () => {
  const USER_CONF = 'openai-api-key: sk-proj-REALUSERKEY-abcdefghijklmnop1234\nanthropic-api-key: sk-ant-REALANTHROPIC-xyz987654321\ndark-mode: true\n';
  const noKeys = (text: string) => {
    expect(text).not.toContain('REALUSERKEY');
    expect(text).not.toContain('REALANTHROPIC');
    expect(text).not.toMatch(/sk-aider-mlx-[0-9a-f]{48}/);
  };

  it('setup --dry-run, text and --json, never prints them; the diff still says which key changes', async () => {
    const s = sandbox();
    writeFileSync(files(s).conf, USER_CONF);
    // Without --force the dry run stops at the conflict, naming the key, not its value.
    const stop = await cli(flags(['--dry-run']), { cwd: s.repo, env: s.env });
    expect(stop.code).toBe(2);
    noKeys(stop.stdout + stop.stderr);
    expect(flat(stop.stderr)).toMatch(/already sets openai-api-key: <redacted>/);

    const r = await cli(flags(['--dry-run', '--force']), { cwd: s.repo, env: s.env });
    expect(r.code, r.stderr).toBe(0);
    noKeys(r.stdout + r.stderr);
    // Their key stays in their file (the env file's key outranks it); the diff shows it redacted.
    expect(r.stdout).toMatch(/^ openai-api-key: <redacted>$/m);
    expect(r.stdout).toMatch(/^ anthropic-api-key: <redacted>$/m);
    expect(r.stdout).toMatch(/^\+env-file: /m);

    const j = await cli(flags(['--dry-run', '--force', '--json']), { cwd: s.repo, env: s.env });
    expect(j.code, j.stderr).toBe(0);
    noKeys(j.stdout + j.stderr);
    const out = JSON.parse(j.stdout) as { files: Array<{ path: string; diff: string }> };
    const conf = out.files.find((f) => f.path === files(s).conf)!;
    expect(conf.diff).toMatch(/^ openai-api-key: <redacted>$/m);
    expect(readFileSync(files(s).conf, 'utf8')).toBe(USER_CONF);
    expect(existsSync(files(s).plan)).toBe(false);
  });

  it('replacing their openai-api-key is a conflict: --yes stops (exit 2), --force replaces it and keeps the backup; a rerun is no conflict', async () => {
    const s = sandbox();
    writeFileSync(files(s).conf, USER_CONF);
    const r = await cli(flags(), { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    noKeys(r.stdout + r.stderr);
    expect(flat(r.stderr)).toMatch(/\.aider\.conf\.yml already sets openai-api-key: <redacted>; setup would replace it with aider-mlx's key/);
    expect(flat(r.stderr)).toMatch(/--force to replace it \(a backup is kept\)/);
    expect(readFileSync(files(s).conf, 'utf8')).toBe(USER_CONF);
    expect(existsSync(files(s).plan)).toBe(false);

    const f = await cli(flags(['--force']), { cwd: s.repo, env: s.env });
    expect(f.code, f.stderr).toBe(0);
    noKeys(f.stdout + f.stderr);
    const conf = parse(readFileSync(files(s).conf, 'utf8'));
    // Their line stays; the key Aider uses here is ours, from the env file it reads last.
    expect(conf['openai-api-key']).toBe('sk-proj-REALUSERKEY-abcdefghijklmnop1234');
    expect(conf['env-file']).toBe(join(s.config, 'aider.env'));
    expect(readFileSync(join(s.config, 'aider.env'), 'utf8')).toMatch(/^AIDER_OPENAI_API_KEY=sk-aider-mlx-[0-9a-f]{48}$/m);
    expect(conf['anthropic-api-key']).toBe('sk-ant-REALANTHROPIC-xyz987654321');
    const set = backups(s);
    expect(set).toHaveLength(1);
    const saved = readdirSync(join(s.config, 'backups', set[0]!), { recursive: true, encoding: 'utf8' })
      .map((p) => join(s.config, 'backups', set[0]!, p))
      .filter((p) => statSync(p).isFile())
      .map((p) => readFileSync(p, 'utf8'));
    expect(saved).toContain(USER_CONF);

    // Confirmed once: a rerun without --force changes nothing and asks nothing.
    const before = snapshot(s);
    const again = await cli(flags(), { cwd: s.repo, env: s.env });
    expect(again.code, again.stderr).toBe(0);
    expect(snapshot(s)).toEqual(before);
    expect(backups(s)).toHaveLength(1);
  });
});

describe('setup --yes: bad input gets one clear line and writes nothing', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['port 0', ['--editor', EDITOR, '--editor-port', '0'], /--editor-port must be a whole number from 1 to 65535 \(got "0"\)/],
    ['port 70000', ['--editor', EDITOR, '--editor-port', '70000'], /got "70000"/],
    ['port abc', ['--editor', EDITOR, '--proxy-port', 'abc'], /--proxy-port must be .*got "abc"/],
    ['repo id with a space', ['--editor', 'mlx-community/Qwen Coder'], /cannot contain spaces/],
    ['repo id with ..', ['--editor', 'mlx-community/../etc'], /cannot contain "\.\."/],
    // No --editor: the proposal for this machine is taken (test/e2e/proposal.test.ts).
    ['unknown flag', ['--editor', EDITOR, '--bogus'], /bogus/],
    ['bad mode', ['--editor', EDITOR, '--mode', 'sideways'], /--mode must be proxy or direct/],
  ];
  for (const [name, extra, msg] of cases) {
    it(name, async () => {
      const s = sandbox();
      const r = await cli(['setup', '--yes', ...extra], { cwd: s.repo, env: s.env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
      expect(existsSync(s.config)).toBe(false);
    });
  }

  it('a port held by something that is not mlx_lm.server', async () => {
    const other = await startFakeMlxServer({ model: 'x/y', faults: { identity: 'other' } });
    try {
      const s = sandbox();
      const r = await cli(['setup', '--yes', '--editor', EDITOR, '--editor-port', String(other.port), '--timeout', '5'], { cwd: s.repo, env: s.env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${other.port} is held by`));
      expect(existsSync(s.config)).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('--editor-port held by an HTTP server answering HTML (python3 -m http.server): exit 2, who holds it, no markup in the message (D5)', async () => {
    const page = '<!DOCTYPE HTML>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error response</title>\n</head>\n<body><p>Error code: 501</p></body>\n</html>\n';
    const { createServer } = await import('node:http');
    const srv = createServer((req, res) => {
      res.writeHead(req.method === 'POST' ? 501 : 404, { 'Content-Type': 'text/html' });
      res.end(page);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const s = sandbox();
      const r = await cli(['setup', '--yes', '--editor', EDITOR, '--mode', 'direct', '--editor-port', String(port), '--timeout', '5'], { cwd: s.repo, env: s.env });
      expect(r.code).toBe(2);
      expect(flat(r.stderr)).toContain(`127.0.0.1:${port} is held by`);
      expect(flat(r.stderr)).toContain('POST /v1/responses → 501 an HTML page ("Error response")');
      // Which process: this test's own (it holds the port), by its pid.
      if (process.platform === 'linux') expect(flat(r.stderr)).toMatch(new RegExp(`: pid ${process.pid}, \\S*node`));
      expect(r.stderr).not.toMatch(/<|DOCTYPE/);
      expect(existsSync(s.config)).toBe(false);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it('an unreadable plan', async () => {
    const s = sandbox();
    mkdirSync(s.config, { recursive: true });
    writeFileSync(join(s.config, 'plan.yaml'), 'version: 1\nmode: [oops\n');
    const r = await cli(flags(), { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/plan\.yaml line \d+, column \d+/);
    expect(existsSync(files(s).conf)).toBe(false);
  });
});

describe('setup --yes: verification', () => {
  it('a server that is down fails with exit 1, the start command, and nothing written; --force writes anyway', async () => {
    const s = sandbox();
    const args = ['setup', '--yes', '--editor', EDITOR, '--editor-port', '1', '--proxy-port', '4999', '--timeout', '3'];
    const r = await cli(args, { cwd: s.repo, env: s.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/nothing answers on 127\.0\.0\.1:1/);
    expect(r.stdout).toMatch(/mlx_lm\.server --model mlx-community\/Qwen2\.5-Coder-7B-Instruct-4bit --port 1/);
    expect(existsSync(s.config)).toBe(false);
    const f = await cli([...args, '--force'], { cwd: s.repo, env: s.env });
    expect(f.code).toBe(1);
    expect(existsSync(files(s).conf)).toBe(true);
  });

  it('direct mode, a server started with another model: exit 1 naming both, and the other name is never sent', async () => {
    const other = await standInProcess(ARCHITECT);
    try {
      const s = sandbox();
      const r = await cli(['setup', '--yes', '--mode', 'direct', '--editor', EDITOR, '--editor-port', String(other.port), '--timeout', '5'], { cwd: s.repo, env: s.env });
      expect(r.code).toBe(1);
      expect(flat(r.stdout)).toContain(`serves ${ARCHITECT} (from its command line, pid ${other.pid}), not ${EDITOR}`);
      expect(existsSync(s.config)).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('--dry-run prints diffs and writes nothing; --json is machine-readable', async () => {
    const s = sandbox();
    const r = await cli(flags(['--dry-run']), { cwd: s.repo, env: s.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\+\+\+ .*\.aider\.conf\.yml/m);
    expect(r.stdout).toMatch(/^\+model: openai\/mlx-qwq-32b-4bit/m);
    expect(r.stdout).toMatch(/^\+AIDER_OPENAI_API_KEY=<redacted>/m);
    expect(r.stdout).not.toMatch(/sk-aider-mlx-[0-9a-f]{48}/);
    expect(existsSync(s.config)).toBe(false);
    const j = await cli(flags(['--dry-run', '--json']), { cwd: s.repo, env: s.env });
    const out = JSON.parse(j.stdout);
    expect(out.ok).toBe(true);
    expect(out.files.every((f: { changed: boolean; diff: string }) => f.changed && f.diff.length > 0)).toBe(true);
    // In-process stand-ins: the port holder's command line is the test runner's, so the model is unconfirmed.
    expect(out.checks.filter((c: { id: string }) => c.id.startsWith('server.')).map((c: { status: string }) => c.status)).toEqual(['warn', 'warn']);
  });
});

describe('setup --yes: the model the server serves, read from its command line', () => {
  const A = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
  const B = 'mlx-community/Llama-3.2-1B-Instruct-4bit';

  it('a server serving A, --editor B on its port: exit 1 naming A and B and the way on; nothing written', async () => {
    const a = await standInProcess(A);
    try {
      const s = sandbox();
      const r = await cli(['setup', '--yes', '--editor', B, '--editor-port', String(a.port), '--proxy-port', '4999', '--timeout', '5'], { cwd: s.repo, env: s.env });
      expect(r.code).toBe(1);
      expect(flat(r.stdout)).toContain(`127.0.0.1:${a.port} serves ${A} (from its command line, pid ${a.pid}), not ${B}`);
      expect(r.stdout).toMatch(/--editor-port N/);
      expect(flat(r.stdout)).toContain(`restart the server on ${a.port} with the planned model: mlx_lm.server --model ${B} --port ${a.port}`);
      expect(r.stdout).not.toMatch(/✓ editor/);
      expect(existsSync(s.config)).toBe(false);
      expect(existsSync(join(s.repo, '.aider.conf.yml'))).toBe(false);
    } finally {
      await a.close();
    }
  });

  it('a server serving A, --editor A: passes, saying it serves A (from its command line)', async () => {
    const a = await standInProcess(A);
    try {
      const s = sandbox();
      for (const mode of ['proxy', 'direct']) {
        const r = await cli(['setup', '--yes', '--mode', mode, '--editor', A, '--editor-port', String(a.port), '--proxy-port', '4999', '--timeout', '5', '--force'], { cwd: s.repo, env: s.env });
        expect(r.code, r.stdout + r.stderr).toBe(0);
        // Direct mode sends the exact --model (what Aider will send); proxy mode default_model.
        expect(flat(r.stdout)).toContain(`✓ editor + weak: 127.0.0.1:${a.port} serves ${A} (from its command line) and answered a 1-token completion as "${mode === 'direct' ? A : 'default_model'}"`);
      }
    } finally {
      await a.close();
    }
  });

  it('a local model folder that does not exist is refused (exit 2), unless the server there serves exactly that path', async () => {
    const a = await standInProcess(A);
    const missing = await standInProcess('/nonexistent/model/dir');
    try {
      for (const [model, port] of [['/nonexistent/model/dir', a.port], ['~/no/such/model', a.port], ['/nonexistent/model/dir', 1]] as const) {
        const s = sandbox();
        const r = await cli(['setup', '--yes', '--editor', model, '--editor-port', String(port), '--proxy-port', '4999', '--timeout', '3'], { cwd: s.repo, env: s.env });
        expect(r.code, `${model} on ${port}`).toBe(2);
        expect(r.stderr).toContain(`--editor ${model}: no such folder on this Mac`);
        expect(existsSync(s.config)).toBe(false);
      }
      const s = sandbox();
      const ok = await cli(['setup', '--yes', '--editor', '/nonexistent/model/dir', '--editor-port', String(missing.port), '--proxy-port', '4999', '--timeout', '3'], { cwd: s.repo, env: s.env });
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(flat(ok.stdout)).toContain('serves /nonexistent/model/dir (from its command line)');
    } finally {
      await Promise.all([a.close(), missing.close()]);
    }
  });

  it('a server that accepts the connection and never answers: exit 1 (a failed check, not bad input), within the timeout', async () => {
    const sockets: net.Socket[] = [];
    const hung = net.createServer((c) => void sockets.push(c));
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const port = (hung.address() as net.AddressInfo).port;
    try {
      const s = sandbox();
      const timeoutSec = 2;
      const t0 = performance.now();
      const r = await cli(['setup', '--yes', '--editor', A, '--editor-port', String(port), '--proxy-port', '4999', '--timeout', String(timeoutSec)], { cwd: s.repo, env: s.env });
      const ms = performance.now() - t0;
      expect(r.code, r.stderr).toBe(1);
      expect(flat(r.stdout)).toContain(`127.0.0.1:${port} accepted the connection, no HTTP answer within ${timeoutSec} s: busy loading, stuck, or not an HTTP server`);
      expect(r.stdout + r.stderr).not.toMatch(/not mlx_lm\.server/);
      expect(existsSync(s.config)).toBe(false);
      // One probe timeout, plus the CLI's own start.
      expect(ms / (timeoutSec * 1000)).toBeLessThan(2.5);
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise((r) => hung.close(r));
    }
  });
});

describe('modes and scopes', () => {
  it('direct mode: each Aider model carries its own server as api_base; no proxy file', async () => {
    const s = sandbox();
    const r = await cli(flags(['--mode', 'direct']), { cwd: s.repo, env: s.env });
    expect(r.code).toBe(0);
    const settings = parse(readFileSync(files(s).settings, 'utf8')) as Array<{ name: string; extra_params: { api_base: string } }>;
    expect(Object.fromEntries(settings.map((e) => [e.name, e.extra_params.api_base]))).toEqual({
      [`openai/${EDITOR}`]: `http://127.0.0.1:${editor.port}/v1`,
      [`openai/${ARCHITECT}`]: `http://127.0.0.1:${architect.port}/v1`,
    });
    expect(existsSync(files(s).litellm)).toBe(false);
    // Which model that server serves is unconfirmed (its command line is the test runner's): only
    // default_model is sent, never the repo id, which mlx_lm.server would take as a load instruction.
    const sent = architect.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/chat/completions')).map((q) => (q.body as { model?: string })?.model);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((m) => m !== 'default_model')).toEqual([]);
    expect(flat(r.stdout)).toMatch(/answered as "default_model", but which model it serves is unconfirmed/);
  });

  it('profile scope writes under ~/.config/aider-mlx/aider and `aider-mlx aider` runs aider on exactly those files', async () => {
    const s = sandbox();
    const r = await cli(flags(['--scope', 'profile']), { cwd: s.repo, env: s.env });
    expect(r.code).toBe(0);
    const profile = join(s.config, 'aider');
    expect(existsSync(join(profile, '.aider.conf.yml'))).toBe(true);
    expect(existsSync(files(s).conf)).toBe(false);
    const conf = parse(readFileSync(join(profile, '.aider.conf.yml'), 'utf8'));
    expect(conf['model-settings-file']).toBe(join(profile, '.aider.model.settings.yml'));
    // A stand-in `aider` on PATH that prints its arguments.
    const bin = join(s.root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'aider'), '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\nexit 7\n');
    chmodSync(join(bin, 'aider'), 0o755);
    const a = await cli(['aider', '--message', 'hi'], { cwd: s.repo, env: { ...s.env, PATH: `${bin}:${s.env.PATH}` } });
    expect(a.code).toBe(7);
    const args = a.stdout.split('\n');
    // Through the proxy each run gets its own session id: a per-run copy of the model settings.
    expect(args[3]).toMatch(/aider-\d+-\d+\.aider\.model\.settings\.yml$/);
    expect(args).toEqual([
      '--config', join(profile, '.aider.conf.yml'),
      '--model-settings-file', args[3],
      '--model-metadata-file', join(profile, '.aider.model.metadata.json'),
      '--message', 'hi', '',
    ]);
  });

  it('status --json reports each deployment and the proxy', async () => {
    const s = sandbox();
    expect((await cli(flags(), { cwd: s.repo, env: s.env })).code).toBe(0);
    const r = await cli(['status', '--json', '--timeout', '3'], { cwd: s.repo, env: s.env });
    const out = JSON.parse(r.stdout);
    expect(r.code).toBe(1); // the proxy is not running
    const deployments = out.hops.filter((h: { kind: string }) => h.kind === 'deployment');
    expect(deployments.map((h: { up: boolean; answers: string }) => [h.up, h.answers])).toEqual([[true, 'mlx_lm.server'], [true, 'mlx_lm.server']]);
    expect(out.hops.find((h: { kind: string }) => h.kind === 'proxy')).toMatchObject({ up: false, answers: 'none' });
  });

  it('status names a server on another machine as exposed, with the SSH tunnel that avoids it', async () => {
    const s = sandbox();
    mkdirSync(s.config, { recursive: true });
    // TEST-NET-1 (RFC 5737): never routed.
    writeFileSync(
      join(s.config, 'plan.yaml'),
      `version: 1\nmode: direct\nroles:\n  editor:\n    model: mlx-community/Qwen2.5-Coder-7B-Instruct-4bit\n    context: 32768\n    deployments:\n      - host: 192.0.2.10\n        port: 8080\nproxy:\n  host: 127.0.0.1\n  port: 4000\nrequestTimeout: 600\naider:\n  scope: project\n  dir: ${s.repo}\n`,
    );
    const r = await cli(['status', '--timeout', '0.3'], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(1);
    expect(flat(r.stdout)).toContain('192.0.2.10:8080 is reached over the network, and mlx_lm.server has no authentication');
    expect(flat(r.stdout)).toContain('ssh -N -L 18080:127.0.0.1:8080 <you>@192.0.2.10');
  });
});

describe('cheap commands', () => {
  it('--version and --help', async () => {
    const s = sandbox();
    const v = await cli(['--version'], { cwd: s.repo, env: s.env });
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const h = await cli(['--help'], { cwd: s.repo, env: s.env });
    expect(h.stdout).toMatch(/Commands\n {2}setup .*\n( {15}.*\n)* {2}doctor .*\n( {15}.*\n)* {2}status .*\n( {15}.*\n)* {2}serve /);
    const sh = await cli(['setup', '--help'], { cwd: s.repo, env: s.env });
    expect(sh.code).toBe(0);
    expect(sh.stdout).toMatch(/^aider-mlx setup — [\s\S]*--editor MODEL[\s\S]*Examples/);
    expect((await cli(['help', 'setup'], { cwd: s.repo, env: s.env })).stdout).toBe(sh.stdout);
    const u = await cli(['frobnicate'], { cwd: s.repo, env: s.env });
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/Unknown command "frobnicate"/);
  });

  it('every command has its own --help page; aider --help is ours; typos get the closest name', async () => {
    const s = sandbox();
    const pages = new Set<string>();
    for (const c of ['setup', 'reconfigure', 'doctor', 'status', 'models', 'serve', 'service', 'install', 'restore', 'uninstall', 'aider']) {
      const r = await cli([c, '--help'], { cwd: s.repo, env: s.env });
      expect(r.code, `${c} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^aider-mlx ${c} — [\\s\\S]*Usage[\\s\\S]*Examples`));
      pages.add(r.stdout);
    }
    expect(pages.size).toBe(11);
    const serve = await cli(['serve', '-h'], { cwd: s.repo, env: s.env });
    for (const f of ['--stand-in', '--once', '--json', '--check-every']) expect(flat(serve.stdout)).toContain(f);
    const typo = await cli(['modles'], { cwd: s.repo, env: s.env });
    expect(typo.code).toBe(2);
    // Named as this copy runs (a clone's bin here).
    expect(typo.stderr).toContain(`Did you mean \`${selfCommand()} models\`?`);
    const flag = await cli(['restore', '--jsno'], { cwd: s.repo, env: s.env });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain(`✗ Unknown option --jsno for \`${selfCommand()} restore\`.`);
    expect(flag.stderr).toContain('Did you mean --json?');
    const bogus = await cli(['restore', '--bogus'], { cwd: s.repo, env: s.env });
    expect(bogus.stderr).not.toMatch(/'--|"--bogus/);
  });
});
