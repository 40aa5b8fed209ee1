import { selfCommand } from '../lib/paths.js';
/**
 * The wizard's last question on a terminal, "Start Aider now?": yes leaves the plan's servers up in
 * a background serve and runs Aider in the project with the files just written (a stand-in aider
 * that records its argv, cwd, environment and what the server answered when it started).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { standInAider } from '../../test/e2e/helpers.js';
import type { Sandbox } from '../../test/e2e/helpers.js';
import { launchAfterWizard } from './launch.js';
import { readBackground, stopBackground } from '../serve/background.js';
import { isPortFree } from '../servers/ports.js';
import { runWizard } from '../wizard/run.js';
import { makeTestCtx, type TestCtx } from '../wizard/test-helpers.js';

let t: TestCtx | undefined;
let bin: string | undefined;
afterEach(async () => {
  if (t) await stopBackground(t.env);
  await t?.cleanup();
  if (bin) await rm(bin, { recursive: true, force: true });
  t = undefined;
  bin = undefined;
});

async function withStandInAider(face: 'plain' | 'non-interactive', script: Parameters<typeof makeTestCtx>[0] = []) {
  bin = await mkdtemp(join(tmpdir(), 'aider-mlx-standin-'));
  const aider = standInAider({ root: bin, env: { PATH: '/usr/bin:/bin' } } as unknown as Sandbox);
  t = await makeTestCtx(script, { face, env: { PATH: aider.path } });
  t.env.STANDIN_PROBE = `http://127.0.0.1:${t.ports.editor}/v1/models`;
  return aider;
}

describe('"Start Aider now?"', () => {
  it('yes (the default): the background serve is up, and Aider runs in the project with the written files', async () => {
    const aider = await withStandInAider('plain');
    const r = await runWizard(t!.ctx);
    expect(r.code).toBe(0);
    const asked = t!.prompter.rec.asked.map((a) => a.id);
    // On a Mac with launchctl, "Keep the servers up at login too?" follows (default no).
    expect(asked.filter((id) => id !== 'launch.at-login').at(-1)).toBe('launch');
    expect(t!.prompter.rec.questions.get('launch')?.message).toBe('Start Aider now?');
    expect(r.launch).toBeDefined();
    // The wizard's own server was stopped; the background serve runs the plan's.
    expect(t!.launched[0]!.stopped).toBe(true);
    const bg = await readBackground(t!.env);
    expect(bg?.running).toBe(true);
    expect(await isPortFree('127.0.0.1', t!.ports.editor)).toBe(false);
    const next = t!.prompter.rec.summary!.sections.find((s) => s.title === 'Next steps')!.lines;
    expect(next[0]).toBe(`Aider starts in this terminal now, in ${t!.project}.`);
    expect(next.join('\n')).toContain(`pid ${bg!.record.pid}`);

    const before = aider.runs().length; // the wizard's own `aider --message` check ran it once
    let said = '';
    const code = await launchAfterWizard(r.launch!, { err: (s) => void (said += s), stdio: 'ignore' });
    expect(code).toBe(0);
    // The command it names runs from this copy (from a clone: its bin, not a bare `aider-mlx`).
    expect(said).toContain(`(the servers stay up in the background: \`${selfCommand()} stop\` stops them)`);
    expect(said).not.toContain('`aider-mlx stop`');
    const runs = aider.runs();
    expect(runs).toHaveLength(before + 1);
    const run = runs.at(-1)!;
    expect(run.argv).toEqual([]);
    expect(run.cwd).toBe(t!.project);
    expect(run.files).toEqual(['.aider.conf.yml', '.aider.model.settings.yml', '.aider.model.metadata.json']);
    expect(run.env.HOME).toBe(t!.home);
    expect(run.answers[0]).toMatchObject({ status: 200 });
    expect(run.answers[0]!.body).toContain(t!.ctx.plan!.roles.editor.model);

    const stopped = await stopBackground(t!.env);
    expect(stopped.stopped?.pid).toBe(bg!.record.pid);
    expect(await isPortFree('127.0.0.1', t!.ports.editor)).toBe(true);
  });

  it('no: nothing keeps running, and the next steps say which terminal does what', async () => {
    await withStandInAider('plain', [['launch', false]]);
    const r = await runWizard(t!.ctx);
    expect(r.launch).toBeUndefined();
    expect(await readBackground(t!.env)).toBeUndefined();
    expect(await isPortFree('127.0.0.1', t!.ports.editor)).toBe(true);
    const next = t!.prompter.rec.summary!.sections.find((s) => s.title === 'Next steps')!.lines;
    expect(next[0]).toBe(`$ ${selfCommand()} launch --stand-in   # this terminal: starts the servers in the background, then Aider`);
    expect(next[1]).toMatch(/a second terminal: keeps them up/);
    expect(next[2]).toBe(`$ cd ${t!.project} && aider   # and then in this terminal`);
  });

  it('the demo, yes: its stand-ins stay up in a background serve of the demo\'s HOME, as the question says, and Aider runs', async () => {
    const aider = await withStandInAider('plain');
    t!.ctx.demo = true;
    const r = await runWizard(t!.ctx);
    expect(t!.prompter.rec.asked.map((a) => a.id)).toContain('launch');
    const prefix = `HOME=${t!.home} XDG_CONFIG_HOME=${t!.env.XDG_CONFIG_HOME} `;
    expect(t!.prompter.rec.questions.get('launch')?.help?.join('\n')).toContain(`\`${prefix}${selfCommand()} stop\` stops them`);
    expect(r.launch).toBeDefined();
    const bg = await readBackground(t!.env);
    expect(bg?.running).toBe(true);
    expect(await isPortFree('127.0.0.1', t!.ports.editor)).toBe(false);
    const next = t!.prompter.rec.summary!.sections.find((s) => s.title === 'Next steps')!.lines;
    expect(next).toContain(`$ ${prefix}${selfCommand()} status   # shows them`);
    expect(next).toContain(`$ ${prefix}${selfCommand()} stop   # stops them`);
    const before = aider.runs().length;
    expect(await launchAfterWizard(r.launch!, { err: () => undefined, stdio: 'ignore' })).toBe(0);
    expect(aider.runs()).toHaveLength(before + 1);
    expect(aider.runs().at(-1)!.env.HOME).toBe(t!.home);
    expect((await stopBackground(t!.env)).stopped?.pid).toBe(bg!.record.pid);
    expect(await isPortFree('127.0.0.1', t!.ports.editor)).toBe(true);
  });

  it('no aider here (the demo too): not asked; the next steps lead with what runs without it, then its install, then launch', async () => {
    t = await makeTestCtx([], { face: 'plain' });
    t.ctx.demo = true;
    const r = await runWizard(t.ctx);
    expect(t.prompter.rec.asked.map((a) => a.id)).not.toContain('launch');
    expect(r.launch).toBeUndefined();
    expect(await readBackground(t.env)).toBeUndefined();
    expect(await isPortFree('127.0.0.1', t.ports.editor)).toBe(true);
    const notes = t.prompter.rec.notes.map((n) => n.text).join('\n');
    // The demo's HOME on its install too (without it, the install goes to the real home).
    const demoEnv = `HOME=${t.env.HOME} XDG_CONFIG_HOME=${t.env.XDG_CONFIG_HOME} `;
    expect(t.env.XDG_CONFIG_HOME).toBeDefined();
    // Said once, in the summary's next steps: the notes name no command of their own (a second list, in another order).
    expect(notes).toContain('aider is not installed, so it cannot start now: the next steps below install it');
    expect(notes).toMatch(/this wizard started \(they stop with the demo\); the next steps below bring it back/);
    expect(notes).not.toContain(`${selfCommand()} install aider`);
    expect(notes).not.toContain(`${selfCommand()} serve`);
    const next = t.prompter.rec.summary!.sections.find((s) => s.title === 'Next steps')!.lines;
    const at = (re: RegExp) => next.findIndex((l) => re.test(l));
    expect(at(/ status {3}#/), next.join('\n')).toBeGreaterThanOrEqual(0);
    expect(at(/ serve --stand-in {3}#/)).toBeLessThan(at(/install aider/));
    expect(at(/install aider/)).toBeLessThan(at(/ launch --stand-in/));
    expect(next[at(/install aider/)]).toBe(`$ ${demoEnv}${selfCommand()} install aider   # Aider is not installed here, and launch starts it`);
    // Every line a command, each in the demo's HOME: the list is the steps, in order.
    for (const l of next) expect(l, next.join('\n')).toMatch(new RegExp(`^\\$ ${demoEnv.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  });

  it('without a terminal it is not asked', async () => {
    await withStandInAider('non-interactive');
    const r = await runWizard(t!.ctx);
    expect(t!.prompter.rec.asked.map((a) => a.id)).not.toContain('launch');
    expect(r.launch).toBeUndefined();
  });
});
