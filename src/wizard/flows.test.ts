/** The less travelled paths: Hub search, a download with progress, the proxy check, the look around. */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readPlan } from '../config/plan-file.js';
import { HUB_OK } from '../hub/hub-client.js';
import type { PullOptions } from '../hub/download.js';
import { runWizard } from './run.js';
import { surveyMachine } from './survey.js';
import { makeTestCtx, type TestCtx } from './test-helpers.js';
import { CancelledError } from '../errors.js';

let t: TestCtx | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** A folder of stand-in executables (`name` prints `out`), for PATH. */
async function fakeBins(root: string, bins: Record<string, string>): Promise<string> {
  const dir = join(root, 'bin');
  await mkdir(dir, { recursive: true });
  for (const [name, out] of Object.entries(bins)) {
    await writeFile(join(dir, name), `#!/bin/sh\necho '${out}'\n`);
    await chmod(join(dir, name), 0o755);
  }
  return dir;
}

describe('models from the Hub', () => {
  it('search lists Hub models with size and fit; the pick is downloaded with progress before its server starts', async () => {
    const searchHub = vi.fn(async () => ({
      status: HUB_OK,
      models: [{ repoId: 'mlx-community/Tiny-Coder-1B-4bit', paramsB: 1, quantBits: 4, weightsBytes: 600 * 2 ** 20, downloadBytes: 650 * 2 ** 20 }],
    }));
    const pulled: PullOptions[] = [];
    const pull = vi.fn(async (o: PullOptions) => {
      pulled.push(o);
      o.onProgress?.({ phase: 'downloading', file: 'model.safetensors', fileIndex: 1, fileCount: 3, bytes: 300, total: 1000, downloadedBytes: 300 });
      o.onProgress?.({ phase: 'downloading', file: 'model.safetensors', fileIndex: 3, fileCount: 3, bytes: 1000, total: 1000, downloadedBytes: 1000 });
      return { repoId: o.repoId, commit: 'c', snapshotPath: '/x', files: [], totalBytes: 1000, downloadedBytes: 1000, resumedBytes: 0, alreadyComplete: false };
    });
    t = await makeTestCtx(
      [
        ['model.editor', 'search'],
        ['model.editor.search', 'tiny coder'],
        ['model.editor.hub', 'mlx-community/Tiny-Coder-1B-4bit'],
      ],
      { deps: { searchHub, pull } },
    );
    // A real mlx run (not the demo): mlx_lm.server must be on PATH (the launch itself is faked).
    t.ctx.serverKind = 'mlx';
    t.ctx.hostEnv = { ...t.ctx.hostEnv, PATH: `${await fakeBins(t.root, { 'mlx_lm.server': '' })}:/usr/bin:/bin` };
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    expect(searchHub).toHaveBeenCalledWith(expect.objectContaining({ query: 'tiny coder' }));
    const hub = t.prompter.rec.questions.get('model.editor.hub') as unknown as { choices: Array<{ hint: string }> };
    expect(hub.choices[0]!.hint).toMatch(/download 650 MB · likely fits for the set/);
    expect(pulled.map((p) => p.repoId)).toEqual(['mlx-community/Tiny-Coder-1B-4bit']);
    expect(t.prompter.rec.progress).toEqual([
      { done: 300, total: 1000, label: 'model.safetensors' },
      { done: 1000, total: 1000, label: 'model.safetensors' },
    ]);
    expect(t.launched[0]!.options.model).toBe('mlx-community/Tiny-Coder-1B-4bit');
    expect((await readPlan(t.env))!.roles.editor.model).toBe('mlx-community/Tiny-Coder-1B-4bit');
  });

  it('a Hub that cannot be reached says so and returns to the list', async () => {
    const searchHub = vi.fn(async () => ({ status: { kind: 'unreachable' as const, message: 'The Hub search could not reach huggingface.co.', tryThis: 'Check the network.' }, models: [] }));
    t = await makeTestCtx([['model.editor', 'search'], ['model.editor.search', 'x']], { deps: { searchHub } });
    await runWizard(t.ctx);
    expect(t.prompter.rec.notes).toContainEqual({ kind: 'warn', text: 'The Hub search could not reach huggingface.co. Check the network.' });
    expect(t.prompter.rec.asked.filter((a) => a.id === 'model.editor')).toHaveLength(2);
  });

  it('without mlx_lm the start fails with the install command; skip still writes the setup', async () => {
    t = await makeTestCtx([['server.editor.failed', 'skip']]);
    t.ctx.serverKind = 'mlx';
    await runWizard(t.ctx);
    expect(t.prompter.rec.notes.find((n) => n.kind === 'error')?.text).toMatch(/mlx_lm is not installed .* uv tool install mlx-lm/);
    expect(t.launched).toHaveLength(0);
    expect(await readPlan(t.env)).toBeDefined();
  });
});

describe('proxy', () => {
  it('with litellm installed, proxy mode is the default and is checked through LiteLLM', async () => {
    const verifyProxy = vi.fn(async () => [{ id: 'proxy.model.x', title: 'proxy (litellm 1.80.0): answered through it', status: 'pass' as const }]);
    t = await makeTestCtx([], { deps: { verifyProxy } });
    t.ctx.hostEnv = { ...t.ctx.hostEnv, PATH: `${await fakeBins(t.root, { litellm: 'LiteLLM: Current Version = 1.80.0' })}:/usr/bin:/bin` };
    await runWizard(t.ctx);
    expect(t.prompter.rec.asked.find((a) => a.id === 'mode')?.answer).toBe('proxy');
    expect(verifyProxy).toHaveBeenCalledOnce();
    const plan = (await readPlan(t.env))!;
    expect(plan.mode).toBe('proxy');
    expect(plan.proxy.port).toBe(t.ports.proxy);
  });

  /** A plain TCP listener on a free port: another program holding the proxy port. */
  async function squat(): Promise<{ port: number; close(): Promise<void> }> {
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((c) => {
      sockets.add(c);
      c.on('error', () => undefined);
      c.end('SSH-2.0-OpenSSH_9.6\r\n');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const close = () => new Promise<void>((r) => {
      for (const c of sockets) c.destroy();
      srv.close(() => r());
    });
    return { port: (srv.address() as net.AddressInfo).port, close };
  }

  it('a proxy port held by another program is a question: another port is used, LiteLLM is checked there', async () => {
    const held = await squat();
    try {
      const verifyProxy = vi.fn(async () => [{ id: 'proxy.model.x', title: 'proxy (litellm 1.80.0): answered through it', status: 'pass' as const }]);
      t = await makeTestCtx([['proxy.port', 'other']], { deps: { verifyProxy }, fixed: { ports: { proxy: held.port } } });
      t.ctx.hostEnv = { ...t.ctx.hostEnv, PATH: `${await fakeBins(t.root, { litellm: 'LiteLLM: Current Version = 1.80.0' })}:/usr/bin:/bin` };
      await runWizard(t.ctx);
      expect(t.prompter.rec.notes.find((n) => n.kind === 'error')?.text).toMatch(new RegExp(`Port ${held.port}, the proxy's port, is held by`));
      // Asked once for the held port; again only if the free port it offered was taken meanwhile
      // (tests run in parallel on this machine), and then the plan still gets a port nobody holds.
      expect(t.prompter.rec.asked.filter((a) => a.id === 'proxy.port').length).toBeGreaterThanOrEqual(1);
      const plan = (await readPlan(t.env))!;
      expect(plan.mode).toBe('proxy');
      expect(plan.proxy.port).not.toBe(held.port);
      expect(verifyProxy).toHaveBeenCalledOnce();
      expect((verifyProxy.mock.calls[0] as unknown as [{ proxy: { port: number } }])[0].proxy.port).toBe(plan.proxy.port);
    } finally {
      await held.close();
    }
  });

  it('a proxy port held by another program: stopping there writes nothing', async () => {
    const held = await squat();
    try {
      const verifyProxy = vi.fn(async () => [{ id: 'proxy.model.x', title: 'proxy: answered', status: 'pass' as const }]);
      t = await makeTestCtx([['proxy.port', 'stop']], { deps: { verifyProxy }, fixed: { ports: { proxy: held.port } } });
      t.ctx.hostEnv = { ...t.ctx.hostEnv, PATH: `${await fakeBins(t.root, { litellm: 'LiteLLM: Current Version = 1.80.0' })}:/usr/bin:/bin` };
      await expect(runWizard(t.ctx)).rejects.toBeInstanceOf(CancelledError);
      expect(verifyProxy).not.toHaveBeenCalled();
      expect(await readPlan(t.env)).toBeUndefined();
    } finally {
      await held.close();
    }
  });

  it('a proxy that fails can fall back to direct mode', async () => {
    const verifyProxy = vi.fn(async () => [{ id: 'proxy.model.x', title: 'proxy: x through LiteLLM', status: 'fail' as const, observed: 'LiteLLM exited' }]);
    t = await makeTestCtx([['proxy.failed', 'direct']], { deps: { verifyProxy } });
    t.ctx.hostEnv = { ...t.ctx.hostEnv, PATH: `${await fakeBins(t.root, { litellm: '1.80.0' })}:/usr/bin:/bin` };
    await runWizard(t.ctx);
    expect((await readPlan(t.env))!.mode).toBe('direct');
  });
});

describe('look around', () => {
  it('finds the tools and their versions, and flags a compromised litellm', async () => {
    t = await makeTestCtx([]);
    t.ctx.hostEnv = { ...t.ctx.hostEnv, PATH: `${await fakeBins(t.root, { litellm: 'LiteLLM: Current Version = 1.82.7', aider: 'aider 0.86.2' })}:/usr/bin:/bin` };
    const s = await surveyMachine(t.ctx);
    expect(s.tools.aider?.version).toBe('0.86.2');
    expect(s.tools.litellm).toMatchObject({ version: '1.82.7', compromised: true });
    expect(s.lines.join('\n')).toMatch(/mlx_lm missing · litellm 1\.82\.7 · aider 0\.86\.2/);
    expect(s.warnings.join('\n')).toMatch(/litellm 1\.82\.7 is a known-compromised release/);
  });
});

describe('cached models', () => {
  it('come first, the recommended one is the default when cached, and the context stops at what the model supports', async () => {
    const { makeCachedRepo, mlxFiles, qwen7bConfig } = await import('../../test/stand-in-hub/cache-fixtures.js');
    const { loadCurated, tierFor } = await import('../hub/curated.js');
    const { MEM32 } = await import('./test-helpers.js');
    const recommended = tierFor(await loadCurated(), MEM32.totalBytes).tier.picks.find((p) => p.role === 'single')!.repo;
    t = await makeTestCtx([['context.editor', '4096']]);
    const cache = t.env.HF_HUB_CACHE!;
    makeCachedRepo(cache, 'mlx-community/Other-Model-3B-4bit', { files: mlxFiles() });
    makeCachedRepo(cache, recommended, { files: mlxFiles({ config: { ...qwen7bConfig, max_position_embeddings: 8192 } }) });
    await runWizard(t.ctx);
    const q = t.prompter.rec.questions.get('model.editor') as unknown as { choices: Array<{ value: string; hint?: string }>; default: string };
    expect(q.choices.slice(0, 2).map((c) => c.value).sort()).toEqual([`cached:${recommended}`, 'cached:mlx-community/Other-Model-3B-4bit'].sort());
    expect(q.choices.find((c) => c.value === `cached:${recommended}`)!.hint).toMatch(/^cached · recommended · /);
    expect(q.default).toBe(`cached:${recommended}`);
    const ctxQ = t.prompter.rec.questions.get('context.editor') as unknown as { default: string; help: string[]; live: (v: string) => string[] };
    expect(Number(ctxQ.default)).toBeLessThanOrEqual(8192);
    expect(ctxQ.help.join(' ')).toMatch(/supports up to 8192 tokens/);
    // The line under the field follows what is typed: over the model's maximum, it says so with the numbers.
    expect(ctxQ.live('16384').join(' ')).toMatch(/16384 tokens is more than .* supports \(at most 8192/);
    expect(ctxQ.live('4096').join(' ')).toMatch(/At 4096 tokens the whole set: .* → fits/);
    expect((await readPlan(t.env))!.roles.editor).toMatchObject({ model: recommended, context: 4096 });
  });
});

describe('the start question (X2)', () => {
  const startHintOf = (tc: TestCtx) =>
    (tc.prompter.rec.questions.get('server.editor') as unknown as { choices: Array<{ value: string; hint?: string }> }).choices.find((c) => c.value === 'start')!.hint;

  it('says cached only for a model in the Hugging Face cache; otherwise that it is downloaded, with its size', async () => {
    const { loadCurated, tierFor } = await import('../hub/curated.js');
    const { MEM32 } = await import('./test-helpers.js');
    const pick = tierFor(await loadCurated(), MEM32.totalBytes).tier.picks.find((p) => p.role === 'single')!;
    t = await makeTestCtx([]);
    await runWizard(t.ctx);
    expect(t.prompter.rec.asked.find((a) => a.id === 'model.editor')?.answer).toBe(`curated:${pick.repo}`);
    const hint = startHintOf(t);
    expect(hint).not.toBe('cached');
    expect(hint).toMatch(new RegExp(`not cached: a real start downloads about ${pick.approx!.weightsGB!.toFixed(1)} GB first`));
    await t.cleanup();

    const { makeCachedRepo, mlxFiles } = await import('../../test/stand-in-hub/cache-fixtures.js');
    t = await makeTestCtx([]);
    makeCachedRepo(t.env.HF_HUB_CACHE!, pick.repo, { files: mlxFiles() });
    await runWizard(t.ctx);
    expect(startHintOf(t)).toBe('cached');
  });
});

describe('the aider check', () => {
  it('after the write, one real `aider --message` runs with the three files just written, from a scratch folder', async () => {
    t = await makeTestCtx([]);
    const dir = join(t.root, 'bin');
    await mkdir(dir, { recursive: true });
    const argsFile = join(t.root, 'aider-args');
    await writeFile(join(dir, 'aider'), `#!/bin/sh\nif [ "$1" = "--version" ]; then echo 'aider 0.86.2'; exit 0; fi\nprintf '%s\\n' "$PWD" "$@" > '${argsFile}'\necho 'OK'\n`);
    await chmod(join(dir, 'aider'), 0o755);
    t.ctx.hostEnv = { ...t.ctx.hostEnv, PATH: `${dir}:/usr/bin:/bin` };
    t.ctx.demo = false; // the check is skipped in the demo
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    expect(t.prompter.rec.asked.find((a) => a.id === 'aider-check')?.answer).toBe('true');
    expect(t.ctx.checks.find((c) => c.id === 'aider.message')?.status).toBe('pass');
    const [cwd, ...args] = (await (await import('node:fs/promises')).readFile(argsFile, 'utf8')).trim().split('\n');
    expect(cwd).not.toBe(t.project); // nothing lands in the user's repository
    expect(args.slice(0, 6)).toEqual([
      '--config', join(t.project, '.aider.conf.yml'),
      '--model-settings-file', join(t.project, '.aider.model.settings.yml'),
      '--model-metadata-file', join(t.project, '.aider.model.metadata.json'),
    ]);
    expect(args).toContain('--message');
  });
});

describe('after a failure, the doctor', () => {
  it('walks through it one part at a time on a terminal: the server that did not start, and how to start it', async () => {
    t = await makeTestCtx([['server.editor.failed', 'skip']], { face: 'plain' });
    t.ctx.serverKind = 'mlx'; // no mlx_lm on PATH: the start fails
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(1);
    expect(t.prompter.rec.asked.find((a) => a.id === 'diagnose')?.answer).toBe('true');
    const walk = t.prompter.rec.notes.filter((n) => n.kind === 'info').map((n) => n.text).join('\n');
    expect(walk).toContain('one part of the setup at a time');
    expect(walk).toMatch(/✗ MLX servers\n\s+✗ editor [^✓✗!]*nothing answers/);
    expect(walk).not.toMatch(/\[server\.|\bC\d+\b/);
    expect(walk).toContain(`mlx_lm.server --model ${t.ctx.plan!.roles.editor.model} --port ${t.ports.editor}`);
    expect(t.prompter.rec.asked.some((a) => a.id === 'doctor-fix')).toBe(false); // nothing it can rewrite
    expect(t.ctx.checks.find((c) => c.id === 'doctor')?.status).toBe('fail');
  });

  it('offers its fix on the spot, applies it with a backup, and proves it by checking again', async () => {
    let settings = '';
    t = await makeTestCtx([['doctor-fix', true]], {
      face: 'plain',
      deps: {
        // The Aider call fails because the settings file was edited by hand: a doubled /v1.
        aiderCheck: async (plan) => {
          settings = join(plan.aider.dir, '.aider.model.settings.yml');
          const text = await readFile(settings, 'utf8');
          await writeFile(settings, text.replace(/api_base: (\S+)\/v1/g, 'api_base: $1/v1/v1'));
          return { id: 'aider.message', title: 'aider check', status: 'fail', observed: 'litellm.NotFoundError: NotFoundError: OpenAIException - Not Found' };
        },
      },
    });
    t.ctx.demo = false;
    t.ctx.hostEnv = { ...t.ctx.hostEnv, PATH: `${await fakeBins(t.root, { aider: 'aider 0.86.2' })}:/usr/bin:/bin` };
    await runWizard(t.ctx);
    expect(t.prompter.rec.asked.find((a) => a.id === 'doctor-fix')?.answer).toBe('true');
    expect(await readFile(settings, 'utf8')).not.toContain('/v1/v1');
    const walk = t.prompter.rec.notes.map((n) => n.text).join('\n');
    expect(walk).toMatch(/Fixed \(backup: /);
    expect(t.ctx.checks.find((c) => c.id === 'doctor')).toMatchObject({ status: 'pass' });
  });

  it('is not offered without a terminal (setup --yes names `aider-mlx doctor` instead)', async () => {
    t = await makeTestCtx([['server.editor.failed', 'skip']]);
    t.ctx.serverKind = 'mlx';
    await runWizard(t.ctx);
    expect(t.prompter.rec.asked.some((a) => a.id === 'diagnose')).toBe(false);
  });
});

describe('a missing tool', () => {
  const pull = async (o: PullOptions) => ({ repoId: o.repoId, commit: 'c', snapshotPath: '/x', files: [], totalBytes: 1, downloadedBytes: 1, resumedBytes: 0, alreadyComplete: true });
  /** Installs a stand-in console script into a folder that is not on PATH, like `uv tool install` into ~/.local/bin. */
  const fakeInstaller = (root: string, log: string[]) => async () => ({
    label: 'uv (stand-in)',
    async install(tool: string, task: { log(l: string): void }) {
      log.push(tool);
      task.log(`Installed 1 executable for ${tool}`);
      const dir = join(root, 'tool-bin');
      await mkdir(dir, { recursive: true });
      const bin = join(dir, tool === 'litellm' ? 'litellm' : 'mlx_lm.server');
      await writeFile(bin, '#!/bin/sh\necho 1\n');
      await chmod(bin, 0o755);
      return { bin, version: tool === 'litellm' ? '1.108.7' : '0.32.2' };
    },
  });

  it('mlx_lm: the failed start offers to install it; after installing, the server starts and answers', async () => {
    const installs: string[] = [];
    // "Not now" at the look-around step: the install is offered again where the tool is needed.
    t = await makeTestCtx([['install', 'later'], ['mode', 'direct']], { face: 'plain', deps: { pull } });
    t.ctx.deps.installer = fakeInstaller(t.root, installs);
    t.ctx.serverKind = 'mlx';
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    const menu = t.prompter.rec.questions.get('server.editor.failed') as unknown as { choices: Array<{ value: string; label: string; hint?: string }>; default: string };
    expect(menu.choices[0]).toMatchObject({ value: 'install', label: 'Install mlx-lm 0.32.2 now', hint: 'with uv (stand-in)' });
    expect(menu.default).toBe('install');
    // After the install the server starts at once: the start question is not asked again.
    expect(t.prompter.rec.asked.filter((a) => a.id === 'server.editor').map((a) => a.answer)).toEqual(['start']);
    expect(installs).toEqual(['mlx-lm']);
    const notes = t.prompter.rec.notes.map((n) => n.text).join('\n');
    expect(notes).toMatch(/Installed mlx-lm 0\.32\.2: .*tool-bin\/mlx_lm\.server/);
    expect(notes).toMatch(/tool-bin is not on your PATH/);
    expect(t.launched).toHaveLength(1);
    expect(t.ctx.checks.find((c) => c.id.startsWith('server.'))?.status).toBe('pass');
  });

  it('mlx_lm on a machine MLX cannot run on: the failed start offers the install, but Enter does not pick it', async () => {
    const installs: string[] = [];
    t = await makeTestCtx([['install', 'later'], ['mode', 'direct']], { face: 'plain', deps: { pull }, appleSilicon: false });
    t.ctx.deps.installer = fakeInstaller(t.root, installs);
    t.ctx.serverKind = 'mlx';
    await runWizard(t.ctx);
    const menu = t.prompter.rec.questions.get('server.editor.failed') as unknown as { choices: Array<{ value: string }>; default: string };
    expect(menu.choices[0]).toMatchObject({ value: 'install' });
    // Enter: try again, then skip (as with nothing to install), never pip.
    expect(t.prompter.rec.asked.filter((a) => a.id === 'server.editor.failed').map((a) => a.answer)).toEqual(['retry', 'skip']);
    expect(installs).toEqual([]);
    expect(t.launched).toHaveLength(0);
  });

  it('without a terminal nothing is installed unasked', async () => {
    const installs: string[] = [];
    t = await makeTestCtx([], { deps: { pull } });
    t.ctx.deps.installer = fakeInstaller(t.root, installs);
    t.ctx.serverKind = 'mlx';
    await runWizard(t.ctx);
    expect(installs).toEqual([]);
    expect(t.prompter.rec.asked.filter((a) => a.id === 'server.editor.failed').map((a) => a.answer)).toEqual(['retry', 'skip']);
  });

  it('litellm: the mode question offers to install it and then goes through the proxy', async () => {
    const installs: string[] = [];
    t = await makeTestCtx([['install', 'later'], ['mode', 'install']], { face: 'plain' });
    t.ctx.deps.installer = fakeInstaller(t.root, installs);
    t.ctx.demo = false;
    t.ctx.serverKind = 'mlx';
    t.ctx.hostEnv = { ...t.ctx.hostEnv, PATH: `${await fakeBins(t.root, { 'mlx_lm.server': '' })}:/usr/bin:/bin` };
    const verifyProxy = vi.fn(async () => [{ id: 'proxy.model', title: 'through the proxy', status: 'pass' as const }]);
    t.ctx.deps.verifyProxy = verifyProxy;
    t.ctx.deps.pull = pull;
    await runWizard(t.ctx);
    expect(installs).toEqual(['litellm']);
    expect(t.ctx.answers.mode).toBe('proxy');
    expect(t.ctx.survey?.tools.litellm).toMatchObject({ version: '1.108.7', compromised: false });
    expect(verifyProxy).toHaveBeenCalled();
  });
});
