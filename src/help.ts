/**
 * Every help page, in one place: the main page and one per command (usage, every flag the command
 * takes, examples). Loaded by `--help` alone: it imports nothing but the version, so help never
 * pays for Ink or a command's code. A test checks that every option of every command's parser
 * appears on its page, and the CLI uses the pages' flags to name the closest one to a mistyped flag.
 */
import { closest, closestFlags } from './lib/suggest.js';
export { closest };
import { VERSION } from './version.js';

export interface Flag {
  /** As shown: `--editor MODEL`, `-y, --yes`. An upper-case word after the name: it takes a value. */
  flag: string;
  text: string;
}

export interface Page {
  summary: string;
  usage: string[];
  /** More about the command, before the options. */
  about?: string[];
  sections: Array<{ title: string; flags: Flag[] }>;
  examples: string[];
  notes?: string[];
}

const HELP_FLAG: Flag = { flag: '-h, --help', text: 'this help' };

const SETUP_FLAGS: Flag[] = [
  { flag: '--editor MODEL', text: 'HF repo id or local path of the model that writes the code (without it, --yes takes the setup proposed for this machine and says what it chose and why)' },
  { flag: '--editor-port N', text: "port of the editor's mlx_lm.server (default 8080)" },
  { flag: '--architect MODEL', text: 'a second, planning model (architect mode)' },
  { flag: '--architect-port N', text: "port of the architect's mlx_lm.server (default 8081)" },
  { flag: '--weak MODEL', text: "model for commit messages and summaries (default: the editor's)" },
  { flag: '--weak-port N', text: "port of the weak model's server, when it is a third model (default 8082)" },
  { flag: '--mode proxy|direct', text: 'through a LiteLLM proxy (default) or straight to the servers' },
  { flag: '--proxy-port N', text: 'LiteLLM proxy port (default 4000)' },
  { flag: '--host H', text: 'host of the mlx servers (default 127.0.0.1)' },
  { flag: '--split-hosts H1,H2…', text: 'serve the editor model over several Macs (mlx_lm.server distributed), this Mac first: name=address each, e.g. mac1.local=192.168.2.1,mac2.local=192.168.2.2; 127.0.0.1,127.0.0.1 for ranks on this Mac. Each host is checked over ssh first' },
  { flag: '--scope project|global|profile', text: 'where the Aider files go (default project: the git root)' },
  { flag: '--context N', text: "context window per model (default: the model's curated context for this memory, else 32768, lowered to what the model and memory allow)" },
  { flag: '--timeout SECONDS', text: "bound on each check (default 600: a large model's first load)" },
  { flag: '--request-timeout SECONDS', text: 'timeout written into the Aider and LiteLLM configs (default 600)' },
  { flag: '--force', text: 'replace a model or API base you set yourself; write despite failed checks' },
  { flag: '--at-login', text: 'keep the servers and proxy up at login: launchd agents, as `aider-mlx service install` (macOS only)' },
  { flag: '--dry-run', text: 'print the diffs, write nothing' },
  { flag: '--json', text: 'machine-readable result on stdout (implies no questions)' },
  { flag: '-y, --yes', text: 'ask nothing: the flags are the answers' },
];

const WIZARD_FLAGS: Flag[] = [
  { flag: '--plain', text: 'questions as plain lines: numbered choices, no redrawing (screen readers, simple terminals; also TERM=dumb)' },
  { flag: '--demo', text: 'the whole flow against built-in stand-in servers, files in a temp folder' },
  { flag: '--demo-dir DIR', text: 'with --demo: the folder to use instead of a temp one' },
  { flag: '--answers FILE', text: "answers from a file with the plan's keys (a plan.yaml works); asks nothing" },
];

export const PAGES = {
  setup: {
    summary: 'Pick models, start or find each mlx_lm.server, check it answers, write the LiteLLM and Aider files',
    usage: ['aider-mlx setup [options]', 'aider-mlx setup --yes --editor MODEL [options]'],
    about: ['On a terminal the wizard asks; with --yes, --json, --answers or no terminal nothing is asked and the flags are the answers.'],
    sections: [
      { title: 'The wizard', flags: WIZARD_FLAGS },
      { title: 'Answers as flags', flags: SETUP_FLAGS },
      {
        title: 'Adopt a setup written by hand',
        flags: [
          { flag: '--adopt', text: 'make the chain Aider uses here (its files, the LiteLLM proxy, the running mlx_lm.servers) the plan, so status, serve and reconfigure work on it; only the plan is written (with --yes, --dry-run, --json, --timeout; `-- <aider args>` as you run Aider)' },
          { flag: '--litellm-config FILE', text: 'with --adopt: the config the proxy runs with, when its process does not say' },
        ],
      },
      { title: 'Other', flags: [HELP_FLAG] },
    ],
    examples: [
      'npx aider-mlx setup --demo   # try the whole flow, nothing of yours touched',
      'npx aider-mlx setup          # the wizard',
      'npx aider-mlx setup --yes --editor mlx-community/Qwen2.5-Coder-7B-Instruct-4bit --mode direct',
    ],
  },
  doctor: {
    summary: 'Check every hop (machine → config → mlx servers → proxy → Aider), say what is wrong and fix it',
    usage: ['aider-mlx doctor [options] [-- <your aider arguments>]'],
    about: ['On a terminal it walks the report one hop at a time and offers each fix; without one it prints the report.'],
    sections: [
      {
        title: 'Options',
        flags: [
          { flag: '--error TEXT', text: 'the error you saw: the checks that can explain it come first, the likely cause named (- reads it from stdin)' },
          { flag: '--error-file FILE', text: 'the same, from a file (- for stdin)' },
          { flag: '--deep', text: 'also the checks that cost a generation: the 512-token cap, the chat template, a real Aider call' },
          { flag: '--timeout SECONDS', text: 'bound on every check (default 10; 120 with --deep)' },
          { flag: '--fix', text: 'apply the fixes that are file edits (diff shown, backup kept), then check again' },
          { flag: '-y, --yes', text: 'with --fix: do not ask' },
          { flag: '--json', text: 'machine-readable report (keys redacted)' },
          { flag: '--plain', text: 'the whole report at once, not the walk (the default without a terminal)' },
          { flag: '-v, --verbose', text: 'show passing details and docs links' },
          { flag: '--litellm-config FILE', text: 'the LiteLLM config your proxy runs with (default: the running proxy\'s own --config, else what it reports)' },
          { flag: '-- ARGS', text: 'the rest is the command line you run aider with (--model, --openai-api-base, …), read as Aider reads it' },
          HELP_FLAG,
        ],
      },
    ],
    examples: [
      'npx aider-mlx doctor',
      "npx aider-mlx doctor --error 'litellm.NotFoundError: OpenAIException - Not Found'",
      'npx aider-mlx doctor --fix --yes',
      'npx aider-mlx doctor -- --model openai/editor --openai-api-base http://127.0.0.1:8080/v1',
    ],
    notes: ['Exit codes: 0 nothing failed (warnings allowed), 1 something failed, 2 usage error.'],
  },
  status: {
    summary: 'Every deployment and the proxy: up or down, latency, who answers',
    usage: ['aider-mlx status [--json] [--timeout SECONDS]'],
    sections: [
      {
        title: 'Options',
        flags: [
          { flag: '--json', text: 'machine-readable status on stdout' },
          { flag: '--timeout SECONDS', text: 'bound on each check (default 5)' },
          HELP_FLAG,
        ],
      },
    ],
    examples: ['npx aider-mlx status', 'npx aider-mlx status --json'],
  },
  bench: {
    summary: 'Measure each server, direct and through the proxy, with Aider-shaped turns: first token, prefill, decode, prompt cache',
    usage: ['aider-mlx bench [options]'],
    about: [
      "For each role's server: a cold turn (system prompt, repo map, files, history; a quarter of the context, at most 8192 tokens) and a follow-up on it, streamed. Shows time to first token, prefill and decode tok/s, and the tokens the server took from its prompt cache on the follow-up. Results are kept per model and machine (~/.local/share/aider-mlx/bench.json): `status` and `models` show them, and the request timeouts setup writes derive from the measured prefill speed (2 × context ÷ prefill tok/s, never below --request-timeout).",
    ],
    sections: [
      {
        title: 'Options',
        flags: [
          { flag: '--tokens N', text: 'size of the first prompt, in tokens (about; default a quarter of the context, at most 8192; at most half the context)' },
          { flag: '--turns N', text: 'turns per conversation: the first cold, the others follow up (default 2)' },
          { flag: '--role editor|architect|weak', text: "only that role's server" },
          { flag: '--timeout SECONDS', text: 'bound on each request (default 600)' },
          { flag: '--json', text: 'machine-readable results on stdout' },
          HELP_FLAG,
        ],
      },
    ],
    examples: ['npx aider-mlx bench', 'npx aider-mlx bench --tokens 2000 --turns 4', 'npx aider-mlx bench --role editor --json'],
    notes: ['Exit codes: 0 every server measured, 1 one failed, 2 usage error.'],
  },
  serve: {
    summary: "Start the plan's servers and proxy and keep them up (Ctrl-C stops what it started)",
    usage: ['aider-mlx serve [options]'],
    about: ['A server that already answers is adopted, not started twice. On a terminal a dashboard shows each one; otherwise one line per change.'],
    sections: [
      {
        title: 'Options',
        flags: [
          { flag: '--stand-in', text: 'start stand-in servers instead of mlx_lm.server (the demo, tests)' },
          { flag: '--once', text: 'start everything, report, stop: a check that the plan comes up' },
          { flag: '--timeout SECONDS', text: 'how long a server may take to load its model (default 600)' },
          { flag: '--check-every SECONDS', text: 'how often each server is checked once up (default 5)' },
          { flag: '--plain', text: 'one line per change instead of the dashboard' },
          { flag: '--json', text: 'one JSON line per change on stdout' },
          { flag: '--verbose', text: "the servers' log lines, and the details of a failure" },
          HELP_FLAG,
        ],
      },
    ],
    examples: ['npx aider-mlx serve', 'npx aider-mlx serve --once', 'npx aider-mlx serve --stand-in --plain'],
  },
  launch: {
    summary: 'Start what is down in the background, check every server answers, then run Aider in this terminal',
    usage: ['aider-mlx launch [options] [-- aider options and files]'],
    about: [
      'The servers and the proxy run in a background `aider-mlx serve` (log and pid in ~/.local/share/aider-mlx/); what already answers is used as it is. Aider starts in the project setup wrote to (profile scope: with the profile), with everything after `--`. `aider-mlx stop` stops the background serve, `aider-mlx status` shows it.',
    ],
    sections: [
      {
        title: 'Options',
        flags: [
          { flag: '--stand-in', text: 'start stand-in servers instead of mlx_lm.server (the demo, tests)' },
          { flag: '--timeout SECONDS', text: 'how long the servers may take to answer (default 600: a large model\'s first load)' },
          HELP_FLAG,
        ],
      },
    ],
    examples: ['npx aider-mlx launch', 'npx aider-mlx launch -- src/app.ts --message "add a test"'],
  },
  stop: {
    summary: 'Stop what aider-mlx runs in the background (the servers and proxy `launch` started)',
    usage: ['aider-mlx stop'],
    about: ['Only the background serve of the pid file and what it started: never a process aider-mlx did not start. A `serve` in a terminal stops with Ctrl-C.'],
    sections: [{ title: 'Options', flags: [HELP_FLAG] }],
    examples: ['npx aider-mlx stop', 'npx aider-mlx status   # shows whether a background serve runs'],
  },
  reconfigure: {
    summary: 'Change one role, model, port, mode or scope of what setup wrote',
    usage: ['aider-mlx reconfigure [options]', 'aider-mlx reconfigure --yes [setup flags]'],
    about: ['On a terminal it asks what to change; with --yes the flags given change the plan and nothing is asked. It takes the flags of `setup` (but not --demo or --answers).'],
    sections: [
      { title: 'Options', flags: [WIZARD_FLAGS[0]!, ...SETUP_FLAGS, HELP_FLAG] },
    ],
    examples: ['npx aider-mlx reconfigure', 'npx aider-mlx reconfigure --yes --editor-port 8090', 'npx aider-mlx reconfigure --yes --mode direct'],
  },
  models: {
    summary: 'MLX models: cached, on the Hub, curated per memory tier, and what fits this Mac',
    usage: ['aider-mlx models [options]', 'aider-mlx models pull REPO [--revision REV] [--json]', 'aider-mlx models rm REPO [--yes] [--json]'],
    sections: [
      {
        title: 'List options',
        flags: [
          { flag: '--search TEXT', text: 'free-text Hub search (default: the most downloaded)' },
          { flag: '--author NAME', text: 'Hub author (default mlx-community; "*" for any author\'s MLX models)' },
          { flag: '--limit N', text: 'Hub results (default 20)' },
          { flag: '--role editor|architect|single', text: 'curated picks for one role' },
          { flag: '--context N', text: 'context window for the fit of cached and Hub models (default 32768)' },
          { flag: '--memory GB', text: 'plan for a Mac with this much memory instead of this one' },
          { flag: '--offline', text: 'do not ask the Hub (also HF_HUB_OFFLINE=1)' },
          { flag: '--json', text: 'machine-readable output' },
        ],
      },
      { title: 'pull', flags: [{ flag: '--revision REV', text: 'a branch, tag or commit (default main); resumes a partial download' }] },
      { title: 'rm', flags: [{ flag: '-y, --yes', text: 'remove without asking' }] },
      { title: 'Other', flags: [HELP_FLAG] },
    ],
    examples: [
      'npx aider-mlx models --role editor',
      'npx aider-mlx models --search qwen3 --memory 32',
      'npx aider-mlx models pull mlx-community/Qwen2.5-Coder-7B-Instruct-4bit',
    ],
    notes: [
      'Environment: HF_HUB_CACHE / HF_HOME (cache folder), HF_ENDPOINT (Hub mirror), HF_TOKEN (gated or private repos; `huggingface-cli login` works too). Curated picks: data/curated-models.yaml, or your own file in AIDER_MLX_CURATED_MODELS.',
    ],
  },
  aider: {
    summary: 'Run aider with the isolated profile written by `setup --scope profile`',
    usage: ['aider-mlx aider [aider options and files]', 'aider-mlx aider -- --help        # aider\'s own help'],
    about: ['Everything after `aider` goes to aider itself, after the profile\'s --config, --model-settings-file and --model-metadata-file.'],
    sections: [{ title: 'Options', flags: [HELP_FLAG] }],
    examples: ['npx aider-mlx aider', 'npx aider-mlx aider src/app.ts --message "add a test"'],
  },
  install: {
    summary: 'Install mlx-lm, litellm[proxy] or aider-chat, pinned and checked (uv, pipx, or a venv of ours)',
    usage: ['aider-mlx install [mlx-lm|litellm|aider|all] [options]'],
    about: ['Without a name: all three. A tool already installed is kept (a known-compromised litellm never is). It shows what it will run and asks first.'],
    sections: [
      {
        title: 'Options',
        flags: [
          { flag: '--method uv|pipx|venv', text: 'how to install (default: uv, else pipx, else a venv of ours)' },
          { flag: '--dry-run', text: 'show what would be installed and how, install nothing' },
          { flag: '--force', text: 'install even when the tool is already installed' },
          { flag: '-y, --yes', text: 'do not ask' },
          HELP_FLAG,
        ],
      },
    ],
    examples: ['npx aider-mlx install --dry-run', 'npx aider-mlx install mlx-lm', 'npx aider-mlx install all --method uv --yes'],
  },
  service: {
    summary: 'Start the servers and proxy at login (macOS launchd)',
    usage: ['aider-mlx service install|uninstall|status [--json]'],
    sections: [
      {
        title: 'Options',
        flags: [{ flag: '--json', text: 'machine-readable result on stdout' }, HELP_FLAG],
      },
    ],
    examples: ['npx aider-mlx service install', 'npx aider-mlx service status', 'npx aider-mlx service uninstall'],
  },
  restore: {
    summary: 'Put back a backup set of the files setup replaced',
    usage: ['aider-mlx restore [SET] [options]'],
    about: ['SET is a name or number from --list. Without one it asks which (the newest with --yes). What is there now is backed up first.'],
    sections: [
      {
        title: 'Options',
        flags: [
          { flag: '--list', text: 'show the backup sets, newest first' },
          { flag: '-y, --yes', text: 'do not ask: without SET, the newest set' },
          { flag: '--json', text: 'machine-readable result on stdout' },
          HELP_FLAG,
        ],
      },
    ],
    examples: ['npx aider-mlx restore --list', 'npx aider-mlx restore', 'npx aider-mlx restore 2 --yes'],
  },
  uninstall: {
    summary: 'Remove what aider-mlx added, and nothing of yours (shows the list and asks)',
    usage: ['aider-mlx uninstall [options]'],
    sections: [
      {
        title: 'Options',
        flags: [
          { flag: '--dry-run', text: 'show what would be removed, remove nothing' },
          { flag: '-y, --yes', text: 'do not ask' },
          { flag: '--json', text: 'machine-readable result on stdout' },
          { flag: '--keep-backups', text: 'keep the backup sets (by default they go last, after everything else)' },
          HELP_FLAG,
        ],
      },
    ],
    examples: ['npx aider-mlx uninstall --dry-run', 'npx aider-mlx uninstall', 'npx aider-mlx uninstall --yes --json'],
  },
} satisfies Record<string, Page>;

export type CommandName = keyof typeof PAGES;

/** Commands not on the main page, with a page of their own: the stand-in server `--demo` runs. */
export const HIDDEN_PAGES = {
  'fake-mlx-server': {
    summary: 'A stand-in for mlx_lm.server: its API and log, canned answers',
    usage: ['aider-mlx fake-mlx-server --model ID [--port N] [--host H] [options]'],
    about: [
      'What `setup --demo` and the tests run in place of mlx_lm.server. It loads nothing and answers every completion with canned text; it logs to stderr like the real server and runs until Ctrl-C. The real server\'s other flags (--temp, --top-p, --adapter-path, …) are taken and ignored, so a launcher can pass the same argv.',
    ],
    sections: [
      {
        title: 'Options',
        flags: [
          { flag: '--model ID', text: 'the model it says it serves (required)' },
          { flag: '--port N', text: 'port to listen on (default 8080; 0: any free port, named in the log)' },
          { flag: '--host H', text: 'address to bind (default 127.0.0.1)' },
          { flag: '--max-tokens N', text: "the server's default answer cap (default 512, like mlx_lm.server)" },
          { flag: '--prompt-cache-size N', text: 'prompt caches kept (default 10, like mlx_lm.server)' },
          { flag: '--version V', text: 'the mlx-lm version to imitate (default 0.32)' },
          { flag: '--reasoning', text: 'answer as a thinking model' },
          { flag: '--no-chat-template', text: 'imitate a model without a chat template' },
          { flag: '--delay-ms N', text: 'wait this long before the first token of each completion' },
          { flag: '--loading-ms N', text: 'still loading the model for this long: /health answers, completions wait' },
          { flag: '--prefill-tok-per-sec N', text: 'prompt processing speed: a turn waits for its uncached tokens' },
          HELP_FLAG,
        ],
      },
    ],
    examples: ['npx aider-mlx fake-mlx-server --model mlx-community/Qwen2.5-Coder-7B-Instruct-4bit --port 8080'],
  },
} satisfies Record<string, Page>;

export type HiddenCommandName = keyof typeof HIDDEN_PAGES;
export const HIDDEN_COMMANDS = Object.keys(HIDDEN_PAGES) as HiddenCommandName[];

/** The order of the main page: what people use first. */
export const COMMANDS: CommandName[] = ['setup', 'doctor', 'status', 'serve', 'launch', 'stop', 'reconfigure', 'models', 'bench', 'aider', 'install', 'service', 'restore', 'uninstall'];

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(PAGES, name);
}

/** Every help page fits a terminal this wide. */
export const WIDTH = 80;

/**
 * `text` in lines of at most WIDTH columns, word by word: the first line starts with `first`, the
 * others with `indent` spaces (a hanging indent under the text).
 */
export function wrap(text: string, indent = 0, first = ' '.repeat(indent)): string[] {
  const lines: string[] = [];
  let line = first;
  let fresh = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!fresh && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(indent) + word;
    } else line += (fresh ? '' : ' ') + word;
    fresh = false;
  }
  lines.push(line);
  return lines;
}

/** Two columns: `  left  text`, the text wrapped under itself; a left too wide gets a line of its own. */
function table(rows: Array<[string, string]>, col: number): string[] {
  return rows.flatMap(([left, text]) =>
    left.length >= col ? [`  ${left}`, ...wrap(text, col + 3)] : wrap(text, col + 3, `  ${left.padEnd(col)} `),
  );
}

function flagLines(flags: Flag[]): string[] {
  return table(flags.map((f) => [f.flag, f.text]), 26);
}

/**
 * An example command line: too wide, its `# comment` goes on the line above and the command goes on
 * with ` \` (shell words, quotes kept whole), so each line still pastes.
 */
function exampleLines(e: string): string[] {
  if (e.length + 2 <= WIDTH) return [`  ${e}`];
  const m = /^(.*?)\s+# (.*)$/.exec(e);
  const cmd = m ? m[1]! : e;
  const words = cmd.match(/(?:[^\s'"]+|'[^']*'|"[^"]*")+/g) ?? [cmd];
  const lines: string[] = [];
  let line = `  ${words[0]}`;
  for (const w of words.slice(1)) {
    if (line.length + 1 + w.length + 2 > WIDTH) {
      lines.push(`${line} \\`);
      line = `      ${w}`;
    } else line += ` ${w}`;
  }
  lines.push(line);
  return [...(m ? wrap(m[2]!, 4, '  # ') : []), ...lines];
}

export function commandHelp(name: CommandName | HiddenCommandName): string {
  const p: Page = Object.hasOwn(PAGES, name) ? PAGES[name as CommandName] : HIDDEN_PAGES[name as HiddenCommandName];
  const out = [...wrap(p.summary, 2, `aider-mlx ${name} — `), '', 'Usage', ...p.usage.map((u) => `  ${u}`)];
  if (p.about) out.push('', ...p.about.flatMap((a) => wrap(a)));
  for (const s of p.sections) out.push('', s.title, ...flagLines(s.flags));
  out.push('', 'Examples', ...p.examples.flatMap(exampleLines));
  if (p.notes) out.push('', ...p.notes.flatMap((n) => wrap(n)));
  return `${out.join('\n')}\n`;
}

export function mainHelp(): string {
  const out = [
    `aider-mlx ${VERSION} — Aider coding against local MLX models`,
    '',
    'Usage',
    '  npx aider-mlx <command> [options]',
    ...table([['npx aider-mlx', 'on a terminal: the setup wizard, or reconfigure once a plan exists']], 30),
    '',
    'Commands',
    ...table(COMMANDS.map((c) => [c, PAGES[c].summary]), 12),
    '',
    ...wrap('`aider-mlx <command> --help` (or `aider-mlx help <command>`) shows its options and examples.'),
    '',
    'Start here',
    ...table([
      ['npx aider-mlx setup --demo', 'the whole flow against stand-in servers, nothing of yours touched'],
      ['npx aider-mlx setup', 'the wizard (--plain: plain-line questions); setup --yes --editor MODEL for scripts'],
      ['npx aider-mlx launch', 'then: the servers in the background, Aider in this terminal (stop: aider-mlx stop)'],
      ['npx aider-mlx doctor', 'when Aider → LiteLLM → mlx_lm.server fails'],
    ], 30),
    '',
    'Other',
    ...table([['-h, --help', 'this help'], ['-v, --version', 'print the version']], 30),
    '',
    ...wrap('Exit codes: 0 done, 1 a check failed, 2 usage or bad input, 130 cancelled.'),
  ];
  return `${out.join('\n')}\n`;
}

/** Every flag of a command's page: name (without dashes) → whether it takes a value. */
export function pageFlags(name: CommandName): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const s of (PAGES[name] as Page).sections) {
    for (const f of s.flags) {
      const takesValue = /--[\w-]+ [A-Z\w|]/.test(f.flag);
      for (const part of f.flag.split(/,\s*/)) {
        const n = /^--?([\w-]+)/.exec(part)?.[1];
        if (n) m.set(n, takesValue);
      }
    }
  }
  return m;
}

/**
 * The first `--flag` in args that the command does not take, with the closest one it does. Values
 * of flags that take one are skipped (`--error --weird-text`); `--` ends the flags.
 */
export function unknownFlag(name: CommandName, args: string[]): { flag: string; suggestion?: string } | undefined {
  const flags = pageFlags(name);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return undefined;
    if (!a.startsWith('--')) continue;
    const n = a.slice(2).split('=')[0]!;
    if (flags.has(n)) {
      if (flags.get(n) && !a.includes('=')) i++;
      continue;
    }
    const suggestion = closestFlags(n, [...flags.keys()].filter((f) => f.length > 1));
    return { flag: `--${n}`, ...(suggestion ? { suggestion } : {}) };
  }
  return undefined;
}
