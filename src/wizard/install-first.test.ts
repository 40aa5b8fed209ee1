import { selfCommand } from '../lib/paths.js';
/**
 * Everything missing, installed first: one question at the look-around step, before any model
 * question, installs mlx-lm, LiteLLM (proxy mode) and aider with the pinned installer. No terminal:
 * what is missing and the one command. The demo shows the question and installs nothing.
 */
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ToolName } from '../tools/pins.js';
import { TOOLS } from '../tools/pins.js';
import { runSteps } from './run.js';
import { lookAround } from './steps/look-around.js';
import { roles } from './steps/roles.js';
import type { ToolInstaller } from './install-offer.js';
import { makeTestCtx, type TestCtx } from './test-helpers.js';
import { BACK, type Scripted } from './fake-prompter.js';

let t: TestCtx | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

async function script(path: string, body: string, shebang = '#!/bin/sh'): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${shebang}\n${body}\n`);
  await chmod(path, 0o755);
}

/** An installer that records what it was asked to install and installs nothing. */
function fakeInstaller(root: string): { installer: ToolInstaller; installed: ToolName[] } {
  const installed: ToolName[] = [];
  return {
    installed,
    installer: {
      label: 'uv (~/.local/bin/uv)',
      async install(tool) {
        installed.push(tool);
        return { bin: join(root, 'bin', TOOLS[tool].bin), version: TOOLS[tool].version };
      },
    },
  };
}

async function ctxWith(script: Array<[string, Scripted]>, o: { face: 'plain' | 'non-interactive'; demo?: boolean; direct?: boolean; appleSilicon?: boolean }) {
  t = await makeTestCtx(script, { face: o.face, ...(o.appleSilicon === undefined ? {} : { appleSilicon: o.appleSilicon }) });
  const fake = fakeInstaller(t.root);
  t.ctx.deps.installer = async () => fake.installer;
  // The real flow: mlx_lm.server is what would run (the unit tests' stand-ins need no tools).
  t.ctx.serverKind = o.demo ? 'stand-in' : 'mlx';
  t.ctx.demo = Boolean(o.demo);
  if (o.direct) t.ctx.fixed.mode = 'direct';
  return fake;
}

describe('installs first, at the look-around step', () => {
  it('Esc at the install question (nothing before it) asks it again without printing the look-around twice', async () => {
    await ctxWith([['install', BACK], ['install', 'later']], { face: 'plain' });
    let surveys = 0;
    const survey = t!.ctx.deps.survey;
    t!.ctx.deps.survey = async (c) => (surveys++, survey(c));
    await runSteps(t!.ctx, [lookAround, roles]);
    expect(t!.prompter.rec.asked.map((a) => `${a.id}:${a.answer}`).slice(0, 2)).toEqual(['install:Esc', 'install:later']);
    expect(surveys).toBe(1);
    const lines = t!.prompter.rec.notes.map((n) => n.text);
    expect(lines.filter((l) => l === lines[0]).length).toBe(1);
    expect(t!.prompter.rec.steps.filter((s) => s === 'Look around')).toHaveLength(1);
  });

  it('one question installs all three, before the first model question', async () => {
    const fake = await ctxWith([], { face: 'plain' });
    await runSteps(t!.ctx, [lookAround, roles]);
    const asked = t!.prompter.rec.asked.map((a) => a.id);
    expect(asked).toEqual(['install', 'roles']);
    const q = t!.prompter.rec.questions.get('install')!;
    expect(q.message).toBe('mlx-lm, litellm and aider-chat are not installed. Install all 3 now?');
    expect(q.choices?.[0]).toMatchObject({ value: 'install', label: 'Install all 3 now', hint: 'with uv (~/.local/bin/uv)' });
    expect(fake.installed).toEqual(['mlx-lm', 'litellm', 'aider-chat']);
    // The rest of the run finds them (the servers step, the proxy step, "Start Aider now?").
    const tools = t!.ctx.survey!.tools;
    expect(tools.mlx?.version).toBe(TOOLS['mlx-lm'].version);
    expect(tools.litellm).toMatchObject({ version: TOOLS.litellm.version, compromised: false });
    expect(tools.aider?.bin).toBe(join(t!.root, 'bin', 'aider'));
    expect(t!.ctx.hostEnv.PATH?.split(':')[0]).toBe(join(t!.root, 'bin'));
  });

  it('a machine MLX cannot run on: Enter at the offer is "Not now" (the install stays one choice away)', async () => {
    const fake = await ctxWith([], { face: 'plain', appleSilicon: false });
    await runSteps(t!.ctx, [lookAround, roles]);
    const q = t!.prompter.rec.questions.get('install')!;
    expect(q.default).toBe('later');
    expect(q.choices?.map((c) => c.value)).toEqual(['install', 'later']);
    expect(fake.installed).toEqual([]);
    expect(t!.prompter.rec.notes.map((n) => n.text)).toContain('MLX needs a Mac with Apple silicon; use `--demo` to see the flow, or point at a server running elsewhere.');
    // On a Mac with Apple silicon Enter still installs (the test above).
  });

  it("what aider-mlx installed off PATH (its venv, its ~/.local/bin links) is found, said where, and not offered again", async () => {
    const fake = await ctxWith([], { face: 'plain' });
    const share = join(t!.home, '.local', 'share', 'aider-mlx', 'venvs');
    // mlx-lm: pip in a venv of ours, its links not made (a file of the user's was in the way).
    const mlxBin = join(share, 'mlx-lm', 'bin');
    await script(join(mlxBin, 'python'), `echo ${TOOLS['mlx-lm'].version}`);
    await script(join(mlxBin, 'mlx_lm.server'), 'exit 0', `#!${join(mlxBin, 'python')}`);
    // aider: its venv, linked into ~/.local/bin (which is not on PATH).
    const aiderBin = join(share, 'aider-chat', 'bin', 'aider');
    await script(aiderBin, `echo aider ${TOOLS['aider-chat'].version}`);
    await mkdir(join(t!.home, '.local', 'bin'), { recursive: true });
    await symlink(aiderBin, join(t!.home, '.local', 'bin', 'aider'));
    await runSteps(t!.ctx, [lookAround]);
    const s = t!.ctx.survey!;
    expect(s.tools.mlx).toEqual({ bin: join(mlxBin, 'mlx_lm.server'), version: TOOLS['mlx-lm'].version });
    expect(s.tools.aider).toEqual({ bin: join(t!.home, '.local', 'bin', 'aider'), version: TOOLS['aider-chat'].version });
    const notes = t!.prompter.rec.notes.map((n) => n.text);
    expect(notes).toContain('mlx_lm.server found in ~/.local/share/aider-mlx/venvs/mlx-lm/bin, where aider-mlx installs (not on PATH)');
    expect(notes).toContain('aider found in ~/.local/bin, where aider-mlx installs (not on PATH)');
    expect(notes.some((n) => /^~\/\.local\/bin is not on your PATH/.test(n))).toBe(true);
    // Only what is really missing is offered.
    expect(t!.prompter.rec.questions.get('install')!.message).toBe('litellm is not installed. Install it now?');
    expect(fake.installed).toEqual(['litellm']);
    // What this run starts finds them (appended: the venv's python does not shadow the user's).
    const path = t!.ctx.hostEnv.PATH!.split(':');
    expect(path).toEqual(expect.arrayContaining([mlxBin, join(t!.home, '.local', 'bin')]));
    expect(path.indexOf(mlxBin)).toBeGreaterThan(path.indexOf('/usr/bin'));
  });

  it('direct mode asked for: LiteLLM is not needed, so not offered', async () => {
    const fake = await ctxWith([], { face: 'plain', direct: true });
    await runSteps(t!.ctx, [lookAround]);
    expect(t!.prompter.rec.questions.get('install')!.message).toBe('mlx-lm and aider-chat are not installed. Install both now?');
    expect(fake.installed).toEqual(['mlx-lm', 'aider-chat']);
  });

  it('"Not now" installs nothing and says how to later', async () => {
    const fake = await ctxWith([['install', 'later']], { face: 'plain' });
    await runSteps(t!.ctx, [lookAround]);
    expect(fake.installed).toEqual([]);
    expect(t!.prompter.rec.notes.map((n) => n.text)).toContain(`Later: \`${selfCommand()} install\` installs what is missing.`);
  });

  it('no terminal: no question, what is missing and the one command', async () => {
    const fake = await ctxWith([], { face: 'non-interactive' });
    await runSteps(t!.ctx, [lookAround]);
    expect(t!.prompter.rec.questions.has('install')).toBe(false);
    expect(fake.installed).toEqual([]);
    expect(t!.prompter.rec.notes).toContainEqual({ kind: 'warn', text: `mlx-lm, litellm and aider-chat are not installed. Install them with: ${selfCommand()} install` });
  });

  it('the demo without a terminal: no warning (the demo needs none of them), what a real setup runs', async () => {
    const fake = await ctxWith([], { face: 'non-interactive', demo: true });
    await runSteps(t!.ctx, [lookAround]);
    expect(fake.installed).toEqual([]);
    const notes = t!.prompter.rec.notes;
    expect(notes.filter((n) => n.kind === 'warn')).toEqual([]);
    expect(notes).toContainEqual({ kind: 'info', text: `mlx-lm, litellm and aider-chat are not installed here: the demo does not need them (it uses stand-ins). For a real setup, install them with: ${selfCommand()} install` });
  });

  it('the demo shows the question and what it would run, and installs nothing', async () => {
    const fake = await ctxWith([], { face: 'plain', demo: true });
    await runSteps(t!.ctx, [lookAround]);
    expect(t!.prompter.rec.questions.has('install')).toBe(true);
    expect(fake.installed).toEqual([]);
    const notes = t!.prompter.rec.notes.map((n) => n.text);
    expect(notes.some((n) => n.startsWith('Demo: nothing is installed.'))).toBe(true);
    expect(notes.some((n) => n.startsWith('$ ') && n.includes(`mlx-lm==${TOOLS['mlx-lm'].version}`))).toBe(true);
  });
});
