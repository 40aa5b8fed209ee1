/** The proposed setup in the wizard: Enter takes it; "Adjust…" asks step by step; contexts that do not fit. */
import { afterEach, describe, expect, it } from 'vitest';
import { readPlan } from '../config/plan-file.js';
import { loadCurated, tierFor } from '../hub/curated.js';
import { GiB } from '../hub/fit.js';
import { runWizard } from './run.js';
import { MEM32, makeTestCtx, type TestCtx } from './test-helpers.js';

let t: TestCtx | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const single = async (bytes = MEM32.totalBytes) => tierFor(await loadCurated(), bytes).tier.picks.find((p) => p.role === 'single')!;

describe('the proposed setup', () => {
  it('--demo on defaults reaches the write in at most 4 key presses: the proposal, then the review', async () => {
    t = await makeTestCtx([], { acceptProposal: true });
    t.ctx.demo = true;
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    const asked = t.prompter.rec.asked.map((a) => a.id);
    const presses = asked.indexOf('review') + 1;
    expect(presses).toBeGreaterThan(0);
    expect(presses).toBeLessThanOrEqual(4);
    expect(asked).toEqual(['proposal', 'review']);
    // The screen said what it would do and why, and the files hold exactly that.
    const pick = await single();
    const help = t.prompter.rec.questions.get('proposal')!.help!.join('\n');
    expect(help).toContain(`model: ${pick.repo} on 127.0.0.1:${t.ports.editor}`);
    expect(help).toContain(pick.reason);
    expect(help).toMatch(/memory: editor\+weak [\d.]+ GB = [\d.]+ GB of [\d.]+ GB budget/);
    expect(help).toMatch(/mode: direct: LiteLLM is not installed/);
    const plan = (await readPlan(t.env))!;
    expect(plan.roles.editor).toMatchObject({ model: pick.repo, context: pick.context, deployments: [{ host: '127.0.0.1', port: t.ports.editor }] });
    expect([plan.mode, plan.aider.scope, plan.aider.dir]).toEqual(['direct', 'project', t.project]);
    expect(t.launched).toHaveLength(1); // its server was started and checked without a question
    expect(t.ctx.checks.find((c) => c.id.startsWith('server.'))?.status).toBe('pass');
  });

  it('the step total the first heading shows holds when the proposal is taken (it was [1/6], then [2/7] once the look around had run)', async () => {
    t = await makeTestCtx([], { acceptProposal: true });
    t.ctx.demo = true;
    expect((await runWizard(t.ctx)).code).toBe(0);
    const totals = t.prompter.rec.counters.map((c) => c.counter.split('/')[1]);
    expect(new Set(totals), JSON.stringify(t.prompter.rec.counters)).toEqual(new Set([totals[0]]));
  });

  it('the proposal and the scope step say the same place for the Aider files: this folder outside git, the git root inside (X1)', async () => {
    t = await makeTestCtx([], { acceptProposal: true });
    t.ctx.demo = true;
    expect((await runWizard(t.ctx)).code).toBe(0);
    const notes = t.prompter.rec.notes.map((n) => n.text);
    const scopeLine = t.prompter.rec.questions.get('proposal')!.help!.find((l) => l.startsWith('scope: '))!;
    expect(notes.join('\n')).toContain('is not inside a git repository: the Aider files go into this folder');
    expect(scopeLine).toContain("this folder's .aider.conf.yml");
    expect(scopeLine).not.toMatch(/git root|this repository/);
    await t.cleanup();

    // Inside a git repository: its root, and the scope step says nothing else.
    t = await makeTestCtx([], { acceptProposal: true });
    const { execFileSync } = await import('node:child_process');
    execFileSync('git', ['init', '-q', t.project]);
    expect((await runWizard(t.ctx)).code).toBe(0);
    expect(t.prompter.rec.questions.get('proposal')!.help!.find((l) => l.startsWith('scope: '))).toContain("this repository's .aider.conf.yml (the git root)");
  });

  it('a held port is moved in the proposal itself, and said so', async () => {
    const net = await import('node:net');
    t = await makeTestCtx([], { acceptProposal: true });
    const holder = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => holder.listen(t!.ports.editor, '127.0.0.1', r));
    try {
      await runWizard(t.ctx);
      expect(t.prompter.rec.questions.get('proposal')!.help!.join('\n')).toMatch(new RegExp(`ports: ${t.ports.editor} is held by .*: \\d+ instead`));
      const port = (await readPlan(t.env))!.roles.editor.deployments[0]!.port;
      expect(port).not.toBe(t.ports.editor);
      expect(t.launched[0]!.options.port).toBe(port);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it('a local mlx_lm.server already serving the proposed model is used where it listens, not started again (Y2)', async () => {
    const pick = await single();
    const { startFakeMlxServer } = await import('../servers/fake-mlx-server.js');
    const server = await startFakeMlxServer({ model: pick.repo });
    const asked: string[][] = [];
    try {
      t = await makeTestCtx([], {
        acceptProposal: true,
        deps: {
          findRunning: async (models) => {
            asked.push(models);
            return new Map(models.filter((m) => m === pick.repo).map((m) => [m, { pid: 4242, host: '127.0.0.1', port: server.port }]));
          },
        },
      });
      const r = await runWizard(t.ctx);
      expect(r.code).toBe(0);
      expect(asked).toEqual([[pick.repo]]);
      const help = t.prompter.rec.questions.get('proposal')!.help!.join('\n');
      expect(help).toContain(`model: ${pick.repo} on 127.0.0.1:${server.port}`);
      expect(help).toContain(`already served by mlx_lm.server (pid 4242) on 127.0.0.1:${server.port}: reused`);
      expect((await readPlan(t.env))!.roles.editor.deployments).toEqual([{ host: '127.0.0.1', port: server.port }]);
      expect(t.launched).toHaveLength(0);
      expect(t.ctx.checks.find((c) => c.id.startsWith('server.'))?.status).toBe('pass');
    } finally {
      await server.close();
    }
  });

  it('"Adjust…" opens the single steps, starting from the proposal', async () => {
    t = await makeTestCtx([['proposal', 'adjust']], { acceptProposal: true });
    await runWizard(t.ctx);
    const asked = t.prompter.rec.asked.map((a) => a.id);
    expect(asked.slice(0, 4)).toEqual(['proposal', 'roles', 'model.editor', 'context.editor']);
    expect(t.prompter.rec.questions.get('model.editor')!.default).toBe(`curated:${(await single()).repo}`);
  });
});

describe('the context window', () => {
  it('the same model gets the same default whether picked from the list or typed', async () => {
    // 24 GB: the curated editor of the pair is sized for 16384 tokens (not the 32768 of an unknown model).
    const pick = tierFor(await loadCurated(), 24 * GiB).tier.picks.find((p) => p.role === 'editor')!;
    expect(pick.context).not.toBe(32768);
    const mem = { ...MEM32, totalBytes: 24 * GiB };
    const asked: string[] = [];
    for (const how of ['list', 'typed'] as const) {
      t = await makeTestCtx([['roles', 'pair'], ...(how === 'list' ? [['model.editor', `curated:${pick.repo}`] as [string, string]] : [['model.editor', 'type'], ['model.editor.typed', pick.repo]] as Array<[string, string]>)], { memory: mem });
      await runWizard(t.ctx);
      asked.push(String(t.prompter.rec.questions.get('context.editor')!.default));
      await t.cleanup();
      t = undefined;
    }
    expect(asked).toEqual([String(pick.context), String(pick.context)]);
  });

  it('over the memory budget: said with the numbers, the largest that fits is offered and taken by default', async () => {
    t = await makeTestCtx([['context.editor', '200000']]);
    await runWizard(t.ctx);
    const err = t.prompter.rec.notes.find((n) => n.kind === 'error')!.text;
    expect(err).toMatch(/^200000 tokens do not fit in memory: .* of 21\.3 GB budget \(\d+%\)\. The largest that fits is (\d+) tokens\.$/);
    const largest = Number(/largest that fits is (\d+)/.exec(err)![1]);
    expect(largest).toBeLessThan(200000);
    const over = t.prompter.rec.questions.get('context.editor.over')!;
    expect(over.default).toBe('largest');
    expect((await readPlan(t.env))!.roles.editor.context).toBe(largest);
  });

  it('"use anyway" keeps the number typed', async () => {
    t = await makeTestCtx([['context.editor', '200000'], ['context.editor.over', 'anyway']]);
    await runWizard(t.ctx);
    expect((await readPlan(t.env))!.roles.editor.context).toBe(200000);
  });
});

/**
 * The demo's wizard, searching its built-in stand-in Hub for the editor and picking `pick`, on a Mac
 * with `memory`; `inspect` reads the prompter's record before the demo's folder goes.
 */
async function demoSearch(o: { search: string; pick: string; memory: typeof MEM32; prefix: string }, inspect: (rec: ReturnType<typeof import('./fake-prompter.js').scriptedPrompter>['rec'], root: string) => Promise<void> | void) {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { runWizardCommand } = await import('./command.js');
  const { scriptedPrompter } = await import('./fake-prompter.js');
  const { inProcessLaunch } = await import('./test-helpers.js');
  const { buildCatalogue } = await import('../hub/catalogue.js');
  const root = await mkdtemp(join(tmpdir(), o.prefix));
  const ctrl = new AbortController();
  const { launch } = inProcessLaunch();
  const prompter = scriptedPrompter(
    [
      ['proposal', 'adjust'],
      ['model.editor', 'search'],
      ['model.editor.search', o.search],
      ['model.editor.hub', o.pick],
      ['ports', 'ok'],
    ],
    { signal: ctrl.signal },
  );
  try {
    const env = { HOME: join(root, 'host-home'), PATH: '/usr/bin:/bin', HF_HUB_CACHE: join(root, 'hf') };
    expect(env).not.toHaveProperty('HF_ENDPOINT');
    const r = await runWizardCommand({
      prompter,
      args: [],
      demo: true,
      demoDir: join(root, 'demo'),
      signal: ctrl.signal,
      env,
      deps: { launch, catalogue: (opts) => buildCatalogue({ ...opts, memory: o.memory }) },
    });
    expect(r.code).toBe(0);
    await inspect(prompter.rec, root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('the demo without a network', () => {
  it("searches the built-in stand-in Hub: HF_ENDPOINT unset, anything but 127.0.0.1 unreachable", async () => {
    const { join } = await import('node:path');
    const { isPortFree } = await import('../servers/ports.js');
    const realFetch = globalThis.fetch;
    const asked: string[] = [];
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      asked.push(url.href);
      if (url.hostname !== '127.0.0.1') throw new TypeError(`fetch failed: getaddrinfo ENOTFOUND ${url.hostname}`);
      return realFetch(input, init);
    }) as typeof fetch;
    try {
      await demoSearch({ search: 'coder-1.5b', pick: 'mlx-community/Qwen2.5-Coder-1.5B-Instruct-4bit', memory: MEM32, prefix: 'aider-mlx-demo-hub-' }, async (rec, root) => {
        const hub = rec.questions.get('model.editor.hub')!;
        expect(hub.choices!.map((c) => c.value)).toEqual(['mlx-community/Qwen2.5-Coder-1.5B-Instruct-4bit']);
        expect(rec.notes.some((n) => n.kind === 'warn' && /Hub/.test(n.text))).toBe(false);
        expect((await readPlan({ HOME: join(root, 'demo', 'home'), XDG_CONFIG_HOME: join(root, 'demo', 'home', '.config') }))!.roles.editor.model).toBe('mlx-community/Qwen2.5-Coder-1.5B-Instruct-4bit');
      });
      // Every request went to the stand-in on 127.0.0.1, and it is gone afterwards.
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.every((u) => u.startsWith('http://127.0.0.1:'))).toBe(true);
      expect(await isPortFree('127.0.0.1', Number(new URL(asked[0]!).port))).toBe(true);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});

describe('the demo’s stand-in Hub lists what the models really are (D-F)', () => {
  it('a 32B model shows its real download and does not "fit" a 16 GB Mac; the 1.5B one does', async () => {
    await demoSearch({ search: 'mlx-community', pick: 'mlx-community/Qwen2.5-Coder-1.5B-Instruct-4bit', memory: { ...MEM32, totalBytes: 16 * GiB }, prefix: 'aider-mlx-demo-sizes-' }, (rec) => {
      const choices = rec.questions.get('model.editor.hub')!.choices!;
      const hint = (id: string) => choices.find((c) => c.value === id)?.hint ?? '';
      const gb = (h: string) => Number(/download ([\d.]+) GB/.exec(h)?.[1]);
      // mlx-community/QwQ-32B-4bit is ~18.4 GB (17.2 GiB) of weights on the Hub.
      expect(gb(hint('mlx-community/QwQ-32B-4bit'))).toBeGreaterThan(17);
      expect(gb(hint('mlx-community/QwQ-32B-4bit'))).toBeLessThan(18);
      expect(hint('mlx-community/QwQ-32B-4bit')).not.toMatch(/ fits/);
      expect(gb(hint('mlx-community/Qwen2.5-Coder-14B-Instruct-4bit'))).toBeGreaterThan(7);
      expect(hint('mlx-community/Qwen2.5-Coder-1.5B-Instruct-4bit')).toMatch(/download \d+ MB/);
      expect(hint('mlx-community/Qwen2.5-Coder-1.5B-Instruct-4bit')).toMatch(/fits/);
      for (const c of choices) expect(c.hint).not.toMatch(/ KB/);
    });
  });
});

describe('a broken .aider.conf.yml Aider reads from here (D1)', () => {
  const BROKEN = 'model: openai/foo\n  bad-indent: [1, 2';
  it('the look-around says so (file, line, what to do) and the write refuses it, as setup --yes does: nothing written', async () => {
    const { readdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { MalformedFileError } = await import('../config/merge.js');
    t = await makeTestCtx([], { acceptProposal: true });
    await writeFile(join(t.home, '.aider.conf.yml'), BROKEN);
    const err = await runWizard(t.ctx).then(() => undefined, (e: unknown) => e);
    const note = t.prompter.rec.notes.find((n) => n.kind === 'error');
    // Named as the error names it (tildified against the running user's HOME, not the test's).
    expect(note?.text).toMatch(/home\/\.aider\.conf\.yml line 1, column \d+: .*fix it, or move it aside/);
    expect(err).toBeInstanceOf(MalformedFileError);
    expect((err as InstanceType<typeof MalformedFileError>).path).toBe(join(t.home, '.aider.conf.yml'));
    expect(t.prompter.rec.asked.map((a) => a.id)).not.toContain('review');
    expect(await readdir(t.project)).toEqual([]);
    expect(await readPlan(t.env)).toBeUndefined();
  });
});
