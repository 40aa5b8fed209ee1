/**
 * Every option of every command's parser is on that command's help page: a flag added later
 * without help fails here. The parsers are read as they run (node:util's parseArgs, watched).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';

const seen: Array<Record<string, { type: string; short?: string }>> = [];
vi.mock('node:util', async (importOriginal) => {
  const util = await importOriginal<typeof import('node:util')>();
  return {
    ...util,
    parseArgs: (config: Parameters<typeof util.parseArgs>[0]) => {
      seen.push((config?.options ?? {}) as Record<string, { type: string; short?: string }>);
      return util.parseArgs(config);
    },
  };
});

const { PAGES, COMMANDS, HIDDEN_COMMANDS, commandHelp, closest, mainHelp, pageFlags, unknownFlag, wrap } = await import('./help.js');
type Name = keyof typeof PAGES;

/** The options each command's parser(s) take, gathered by running it with a flag nobody has. */
async function parserOptions(): Promise<Record<string, Map<string, { type: string; short?: string }>>> {
  const BOGUS = '--no-such-flag-at-all';
  const calls: Record<string, Array<() => Promise<unknown>>> = {
    setup: [async () => (await import('./setup/flags.js')).parseSetupFlags([BOGUS])],
    reconfigure: [async () => (await import('./setup/flags.js')).parseSetupFlags([BOGUS])],
    doctor: [async () => (await import('./commands/doctor.js')).parseDoctorArgs([BOGUS])],
    status: [async () => (await import('./commands/status.js')).runStatusCommand([BOGUS])],
    models: ['list', 'pull', 'rm'].map((sub) => async () => (await import('./commands/models.js')).runModelsCommand([sub, BOGUS], { env: {}, interactive: false })),
    serve: [async () => (await import('./commands/serve.js')).runServe([BOGUS], { env: {}, out: () => undefined, err: () => undefined, stopSignal: new Promise(() => undefined) })],
    service: [async () => (await import('./commands/service.js')).runService([BOGUS], { env: {}, out: () => undefined, err: () => undefined })],
    install: [async () => (await import('./commands/install.js')).runInstall([BOGUS], { env: {}, out: () => undefined, err: () => undefined, interactive: false })],
    restore: [async () => (await import('./commands/restore.js')).runRestore([BOGUS], { env: {}, out: () => undefined, err: () => undefined, interactive: false })],
    uninstall: [async () => (await import('./commands/uninstall.js')).runUninstall([BOGUS], { env: {}, out: () => undefined, err: () => undefined, interactive: false } as never)],
    aider: [],
    bench: [async () => (await import('./commands/bench.js')).runBench([BOGUS], { env: {}, out: () => undefined, err: () => undefined })],
    launch: [async () => (await import('./commands/launch.js')).runLaunch([BOGUS], { env: {}, cwd: '/', err: () => undefined })],
    stop: [async () => (await import('./commands/launch.js')).runStop([BOGUS], { env: {}, out: () => undefined })],
  };
  const out: Record<string, Map<string, { type: string; short?: string }>> = {};
  for (const [name, fns] of Object.entries(calls)) {
    const m = new Map<string, { type: string; short?: string }>();
    for (const fn of fns) {
      seen.length = 0;
      await expect(fn()).rejects.toThrow(/no-such-flag-at-all/);
      expect(seen.length, `${name}: its parser was not reached`).toBeGreaterThan(0);
      for (const opts of seen) for (const [k, v] of Object.entries(opts)) m.set(k, v);
    }
    out[name] = m;
  }
  // setup's and reconfigure's own flags, taken out before the setup flags are parsed.
  const { OWN_SWITCHES, VALUE_FLAGS } = await import('./commands/setup.js');
  for (const f of OWN_SWITCHES) out.setup!.set(f, { type: 'boolean' });
  for (const f of VALUE_FLAGS) out.setup!.set(f, { type: 'string' });
  out.reconfigure!.set('plain', { type: 'boolean' });
  return out;
}

describe('help', () => {
  let options: Awaited<ReturnType<typeof parserOptions>>;
  beforeAll(async () => {
    options = await parserOptions();
  });

  it('covers every command the CLI dispatches', () => {
    expect(Object.keys(options).sort()).toEqual([...COMMANDS].sort());
  });

  it("every option of every command's parser is on its page, with a value word exactly when it takes a value", () => {
    expect(options.serve!.has('check-every')).toBe(true); // the watch works
    for (const [name, opts] of Object.entries(options)) {
      const page = commandHelp(name as Name);
      const flags = pageFlags(name as Name);
      for (const [opt, def] of opts) {
        if (opt === 'help') continue;
        expect(flags.has(opt), `${name}: --${opt} is not on \`aider-mlx ${name} --help\``).toBe(true);
        expect(flags.get(opt), `${name}: --${opt} ${def.type === 'string' ? 'takes' : 'takes no'} value`).toBe(def.type === 'string');
        expect(page).toContain(`--${opt}`);
        if (def.short) expect(page).toContain(`-${def.short}, --${opt}`);
      }
    }
  });

  it('each page has a usage, examples, and -h/--help', () => {
    for (const name of COMMANDS) {
      const page = commandHelp(name);
      expect(page).toMatch(new RegExp(`^aider-mlx ${name} — `));
      expect(page).toMatch(/\nUsage\n {2}aider-mlx /);
      expect(page.split('\nExamples\n')[1]?.split('\n').filter((l) => l.startsWith('  npx aider-mlx')).length ?? 0).toBeGreaterThanOrEqual(2);
      expect(page).toContain('-h, --help');
    }
  });

  it("the stand-in server's page: every option it acts on (the real server's ignored ones aside), and only on its own page", async () => {
    expect(HIDDEN_COMMANDS).toEqual(['fake-mlx-server']);
    const { runFakeServerCommand, IGNORED_VALUE_FLAGS, IGNORED_BOOL_FLAGS } = await import('./servers/fake-mlx/command.js');
    seen.length = 0;
    await expect(runFakeServerCommand(['--no-such-flag-at-all'])).rejects.toThrow(/no-such-flag-at-all/);
    const ignored = new Set<string>([...IGNORED_VALUE_FLAGS, ...IGNORED_BOOL_FLAGS]);
    const page = commandHelp('fake-mlx-server');
    expect(page).toMatch(/^aider-mlx fake-mlx-server — [^]*?\n\nUsage\n {2}aider-mlx fake-mlx-server --model ID/);
    for (const [opt, def] of Object.entries(seen[0]!)) {
      if (ignored.has(opt)) continue;
      expect(page).toMatch(new RegExp(`--${opt}${def.type === 'string' ? ' [A-Z]' : '\\s'}`));
      if (def.short) expect(page).toContain(`-${def.short}, --${opt}`);
    }
    expect(mainHelp()).not.toContain('fake-mlx-server');
  });

  it('every line of every page fits 80 columns; wrapped text keeps every word, under its own column', () => {
    for (const [name, page] of [['main', mainHelp()], ...[...COMMANDS, ...HIDDEN_COMMANDS].map((c) => [c, commandHelp(c)])] as const) {
      for (const l of page.split('\n')) expect(l.length, `${name}: ${l}`).toBeLessThanOrEqual(80);
    }
    const text = 'serve the editor model over several Macs (mlx_lm.server distributed), this Mac first: name=address each';
    const lines = wrap(text, 29, `  ${'--split-hosts H1,H2…'.padEnd(26)} `);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(lines.slice(1).every((l) => /^ {29}\S/.test(l))).toBe(true);
    expect(lines.join(' ').split(/\s+/).filter(Boolean).slice(2).join(' ')).toBe(text);
    // The flag tables: a description's next line starts under its first.
    const setup = commandHelp('setup').split('\n');
    const at = setup.findIndex((l) => l.startsWith('  --split-hosts '));
    expect(setup[at]!.indexOf('serve')).toBe(29);
    expect(setup[at + 1]).toMatch(/^ {29}\S/);
    // A command too wide goes on with ` \`, its quoted words whole.
    const doctor = commandHelp('doctor');
    expect(doctor).toContain("  npx aider-mlx doctor --error \\\n      'litellm.NotFoundError: OpenAIException - Not Found'\n");
  });

  it('the main page lists the commands in the order people use them', () => {
    const text = mainHelp();
    const at = COMMANDS.map((c) => text.indexOf(`\n  ${c} `));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(COMMANDS.slice(0, 4)).toEqual(['setup', 'doctor', 'status', 'serve']);
  });

  it('names the closest command or flag to a typo', () => {
    expect(closest('modles', COMMANDS)).toBe('models');
    expect(closest('docter', COMMANDS)).toBe('doctor');
    expect(closest('recon', COMMANDS)).toBe('reconfigure');
    expect(closest('frobnicate', COMMANDS)).toBeUndefined();
    expect(unknownFlag('restore', ['--jsno'])).toEqual({ flag: '--jsno', suggestion: '--json' });
    expect(unknownFlag('serve', ['--standin'])).toEqual({ flag: '--standin', suggestion: '--stand-in' });
    expect(unknownFlag('restore', ['--bogus'])).toEqual({ flag: '--bogus' });
    // A value is not a flag; `--` ends the flags.
    expect(unknownFlag('doctor', ['--error', '--weird text', '--deep'])).toBeUndefined();
    expect(unknownFlag('setup', ['--editor=x', '--', '--anything'])).toBeUndefined();
  });
});

describe('each help page\'s prose', () => {
  it('is paragraphs the wrapper fills (a line broken by hand in the source left a short line mid-sentence: launch)', () => {
    for (const [name, page] of Object.entries(PAGES)) {
      for (const p of (page as { about?: string[] }).about ?? []) expect(p, `${name}: ${p}`).toMatch(/[.:)!?`]$/);
    }
  });
});
