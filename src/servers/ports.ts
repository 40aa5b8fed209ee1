/** Free ports, and who holds a busy one (SPEC §4 #7, #8). */
import { close as closeCb, existsSync, open as openCb, read as readCb, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import net from 'node:net';
import { isLoopback, looksLikeTunnel } from '../serve/remote.js';

/** The exec capability: argument array, never a shell; a missing binary resolves with a non-zero code. */
export type Exec = (
  cmd: string,
  args: string[],
  opts?: { timeoutMs?: number },
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** lib/exec (and execa with it) loads only when a command really runs: the doctor's /proc path never does. */
const run: Exec = async (cmd, args, opts) => (await import('../lib/exec.js')).run(cmd, args, opts);

/** Something accepts connections there (bounded; refused is instant on loopback). */
export function connectable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (v: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Why host:port cannot be bound (EACCES, EADDRINUSE, EADDRNOTAVAIL…), or undefined when it can. */
export function bindError(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

export const PRIVILEGED_PORT_HINT = 'ports below 1024 need root; choose a port ≥ 1024';

/**
 * A server's start output that says it could not bind its port: restarting will not help. Covers
 * Python (mlx_lm.server, uvicorn under LiteLLM) and Node. The cause, in words, or undefined.
 */
export function bindFailureIn(lines: string[], port: number): string | undefined {
  const text = lines.join('\n');
  // Python's socket.bind (mlx_lm.server's HTTPServer), uvicorn's wording (LiteLLM), Node's listen.
  if (/\[Errno 13\] Permission denied\s*$|\[Errno 13\] error while attempting to bind|\blisten EACCES\b/im.test(text)) {
    return `permission denied on port ${port}${port < 1024 ? `: ${PRIVILEGED_PORT_HINT}` : ''}`;
  }
  if (/\[Errno (48|98)\] (Address already in use|error while attempting to bind)|\blisten EADDRINUSE\b/i.test(text)) {
    return `port ${port} is already in use (address already in use)`;
  }
  if (/\[Errno (49|99)\] (Can't assign requested address|Cannot assign requested address|error while attempting to bind)|\blisten EADDRNOTAVAIL\b/i.test(text)) {
    return `the address to listen on is not one of this machine's (address not available)`;
  }
  return undefined;
}

/**
 * True when nothing answers on host:port and we could bind it. Both checks: on macOS a listener
 * on *:port does not stop a bind to 127.0.0.1:port, yet it would take the connections.
 */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  if (await connectable(host, port)) return false;
  return canListen(host, port);
}

/**
 * `preferred` if free, else the next free port above it (up to 50 tries), else one the OS picks.
 * `avoid` holds ports already promised to another service that may not be listening yet.
 */
export async function findFreePort(host: string, preferred?: number, opts: { avoid?: number[] } = {}): Promise<number> {
  const avoid = new Set(opts.avoid ?? []);
  if (preferred !== undefined && preferred > 0) {
    for (let p = preferred; p < Math.min(preferred + 50, 65536); p++) {
      if (!avoid.has(p) && (await isPortFree(host, p))) return p;
    }
  }
  for (;;) {
    const p = await osPort(host);
    if (!avoid.has(p)) return p;
  }
}

function osPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface PortHolder {
  /** lsof's COMMAND column (truncated to 9 characters by lsof, e.g. "Python"). */
  command: string;
  pid: number;
  user?: string;
  /** e.g. "127.0.0.1:8080" or "*:8080". */
  address?: string;
  /** The full command line, when available ("python -m mlx_lm.server --model …"). */
  commandLine?: string;
  /** The exact argument vector, when it could be read (Linux: /proc/<pid>/cmdline). */
  argv?: string[];
}

export interface HolderOptions {
  exec?: Exec;
  platform?: NodeJS.Platform;
  /** Reads /proc/<pid>/cmdline on Linux; tests pass a fake. */
  readFile?: (path: string) => Promise<Buffer | string>;
}

/**
 * Best effort (Linux/macOS): `lsof -nP -iTCP:<port> -sTCP:LISTEN`, then the full command line
 * (Linux: /proc/<pid>/cmdline, exact arguments; else `ps -o args=`). Undefined when lsof is
 * missing, finds nothing, or we may not see the process.
 */
export async function describePortHolder(port: number, opts: HolderOptions = {}): Promise<PortHolder | undefined> {
  const exec: Exec = opts.exec ?? run;
  let out: { code: number; stdout: string };
  try {
    out = await exec('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN'], { timeoutMs: 5000 });
  } catch {
    return undefined;
  }
  if (out.code !== 0) return undefined;
  const holder = parseLsof(out.stdout);
  if (!holder) return undefined;
  if ((opts.platform ?? process.platform) === 'linux') {
    try {
      const raw = String(await (opts.readFile ?? readFile)(`/proc/${holder.pid}/cmdline`));
      const argv = raw.split('\0');
      if (argv[argv.length - 1] === '') argv.pop();
      if (argv.length) {
        holder.argv = argv;
        holder.commandLine = argv.join(' ');
        return holder;
      }
    } catch {
      /* gone, or not ours to read: ps below */
    }
  }
  try {
    const ps = await exec('ps', ['-o', 'args=', '-p', String(holder.pid)], { timeoutMs: 5000 });
    const line = ps.stdout.trim();
    if (ps.code === 0 && line) holder.commandLine = line;
  } catch {
    /* ps is only an extra */
  }
  return holder;
}

/** The first LISTEN row of `lsof -nP` output. */
export function parseLsof(stdout: string): PortHolder | undefined {
  const lines = stdout.split('\n').filter((l) => l.trim());
  for (const line of lines.slice(1)) {
    const cols = line.trim().split(/\s+/);
    const pid = Number(cols[1]);
    if (!cols[0] || !Number.isInteger(pid)) continue;
    const name = /\bTCP\s+(\S+)\s+\(LISTEN\)/.exec(line)?.[1];
    return { command: cols[0].replace(/\\x20/g, ' '), pid, ...(cols[2] ? { user: cols[2] } : {}), ...(name ? { address: name } : {}) };
  }
  return undefined;
}

// ---- which model a local mlx_lm.server serves -----------------------------------------------------

const MLX_COMMAND = /mlx_lm|fake-mlx-server/;

/** The `--model` of an mlx_lm.server argument vector (exact: spaces in a path are kept). */
export function modelFromArgv(argv: string[]): string | undefined {
  if (!argv.some((a) => MLX_COMMAND.test(a))) return undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--model') return argv[i + 1] || undefined;
    if (a.startsWith('--model=')) return a.slice('--model='.length) || undefined;
  }
  return undefined;
}

/**
 * The `--model` of an mlx_lm.server command line as `ps` prints it (arguments joined by spaces).
 * `planned`, when given and present verbatim after `--model`, wins: a path with spaces then reads
 * whole.
 */
export function modelFromCommandLine(line: string | undefined, planned?: string): string | undefined {
  if (!line || !MLX_COMMAND.test(line)) return undefined;
  if (planned) {
    const esc = planned.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (new RegExp(`\\s--model(?:=|\\s+)${esc}(?=\\s|$)`).test(line)) return planned;
  }
  return /\s--model(?:=|\s+)(\S+)/.exec(line)?.[1];
}

/** The `--model` a port holder was started with, if its command line says. */
export function modelOfHolder(h: PortHolder | undefined, planned?: string): string | undefined {
  if (!h) return undefined;
  return h.argv ? modelFromArgv(h.argv) : modelFromCommandLine(h.commandLine, planned);
}

/** Same model: a trailing / and a leading ~ (the user's home) do not count. */
export function sameModel(a: string, b: string, home: string | undefined): boolean {
  const norm = (s: string) => s.replace(/\/+$/, '').replace(/^~(?=\/|$)/, home ?? '~');
  return norm(a) === norm(b);
}

/** The process listening on a local port, with its argument vector (not a shell string) and its working folder. */
export interface PortProcess {
  pid: number;
  argv: string[];
  cwd?: string;
  /** The command line as `ps` printed it, when argv had to be split from it (argv then loses quoting). */
  commandLine?: string;
  /** lsof's COMMAND column, when lsof found it. */
  command?: string;
}

/** mlx_lm.server's --model, from its argument vector (the stand-in `aider-mlx fake-mlx-server` too). */
export function mlxServerArgs(argv: string[]): { isMlx: boolean; model?: string } {
  const i = argv.findIndex(
    (a, j) => /(^|\/)mlx_lm\.server$/.test(a) || a === 'mlx_lm.server' || (/(^|\/)mlx_lm$/.test(a) && argv[j + 1] === 'server') || a === 'fake-mlx-server',
  );
  if (i < 0) return { isMlx: false };
  return { isMlx: true, ...optValue(argv.slice(i + 1), ['--model']) };
}

/** LiteLLM's --config (resolved against the process's folder). */
export function litellmArgs(argv: string[], cwd?: string): { isLitellm: boolean; config?: string } {
  const i = argv.findIndex((a, j) => /(^|\/)litellm$/.test(a) || (a === '-m' && argv[j + 1] === 'litellm'));
  if (i < 0) return { isLitellm: false };
  const c = optValue(argv.slice(i + 1), ['--config', '-c']).model;
  return { isLitellm: true, ...(c ? { config: isAbsolute(c) || !cwd ? c : resolve(cwd, c) } : {}) };
}

export function optValue(args: string[], flags: string[]): { model?: string } {
  for (let j = 0; j < args.length; j++) {
    const a = args[j]!;
    for (const f of flags) {
      if (a === f && args[j + 1] !== undefined) return { model: args[j + 1]! };
      if (a.startsWith(`${f}=`)) return { model: a.slice(f.length + 1) };
    }
  }
  return {};
}

/** What a server's own command line says about its model. */
export type ServedModelSource =
  | { kind: 'cmdline'; model: string; pid: number; argv?: string[] }
  | { kind: 'unreadable'; why: string }
  | { kind: 'remote' };

/** The --model of a port's process: exact from an argv, or from a `ps` line (where `planned` read whole wins). */
export function modelOfProcess(p: PortProcess, planned?: string): string | undefined {
  if (p.commandLine === undefined) return mlxServerArgs(p.argv).model ?? modelFromArgv(p.argv);
  return modelFromCommandLine(p.commandLine, planned);
}

/**
 * The `--model` of the mlx_lm.server holding host:port, read from the command line of the process
 * holding the port (the one lookup: `portProcessLookup`, or `opts.lookup` for a run that already
 * has one). `remote` for another machine (nothing to read from here); `unreadable` says why.
 */
export async function servedModelOf(
  host: string,
  port: number,
  planned: string | undefined,
  opts: HolderOptions & { lookup?: (port: number) => Promise<PortProcess | undefined> } = {},
): Promise<ServedModelSource> {
  if (!isLoopback(host)) return { kind: 'remote' };
  const lookup = opts.lookup ?? portProcessLookup(opts);
  const p = await lookup(port).catch(() => undefined);
  if (!p) return { kind: 'unreadable', why: `no process holding port ${port} could be found (lsof found none this user may see)` };
  const model = modelOfProcess(p, planned);
  if (model) return { kind: 'cmdline', model, pid: p.pid, argv: p.argv };
  const line = p.commandLine ?? p.argv.join(' ');
  if (!line) return { kind: 'unreadable', why: `the command line of ${p.command ?? 'the process'} (pid ${p.pid}) could not be read` };
  if (looksLikeTunnel(line)) return { kind: 'unreadable', why: `port ${port} is an SSH tunnel (pid ${p.pid}): the server runs at its other end` };
  return { kind: 'unreadable', why: `the command line of pid ${p.pid} names no mlx_lm.server --model (${line.slice(0, 100)})` };
}

/** Which model a local mlx_lm.server serves, and how that is known (`servedModelAt`). */
export interface ServedAt {
  model?: string;
  /** `cmdline`: its --model (pid); `listing`: the one model it lists; `unknown`: neither says. */
  how: 'cmdline' | 'listing' | 'unknown';
  pid?: number;
}

/**
 * The model the mlx_lm.server on host:port serves. Its GET /v1/models does not say: it lists every
 * mlx model in its Hugging Face cache, in no set order (the --model among them, or last as a
 * resolved path for a model loaded from a folder). Its command line does: the --model of the
 * process holding the port, on this machine (a server bound to all addresses is looked up on the
 * loopback). Without it, a listing of exactly one model names that one; more, and it is not known.
 */
export async function servedModelAt(host: string, port: number, listed: readonly string[] | undefined, opts: HolderOptions & { lookup?: (port: number) => Promise<PortProcess | undefined> } = {}): Promise<ServedAt> {
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const s = await servedModelOf(local, port, undefined, opts).catch(() => undefined);
  if (s?.kind === 'cmdline') return { model: s.model, how: 'cmdline', pid: s.pid };
  if (listed?.length === 1) return { model: listed[0]!, how: 'listing' };
  return { how: 'unknown' };
}

/**
 * Every listening TCP socket on this machine: port → its socket inodes, from /proc/net/tcp and tcp6,
 * read off the main thread. The kernel lists the listening sockets first (its listening hash, then
 * the established one, which holds the TIME_WAIT sockets: thousands on a busy machine, a line each
 * for the kernel to write and for us to read), so each file is read a chunk at a time and only up
 * to its first line that is not LISTEN.
 */
async function listenTable(): Promise<Map<number, Set<string>>> {
  const table = new Map<number, Set<string>>();
  const found = (port: number, inode: string) => {
    let set = table.get(port);
    if (!set) table.set(port, (set = new Set()));
    set.add(inode);
  };
  await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((f) => listenLines(f, found)));
  return table;
}

/** Calls `found` for each LISTEN line of a /proc/net/tcp file; done at its first other line, its end, or an error. */
export function listenLines(file: string, found: (port: number, inode: string) => void): Promise<void> {
  return new Promise((resolve) => {
    openCb(file, 'r', (err, fd) => {
      if (err) return resolve();
      const buf = Buffer.allocUnsafe(16 * 1024);
      let rest = '';
      let header = true;
      const done = () => closeCb(fd, () => resolve());
      const next = (): void =>
        readCb(fd, buf, 0, buf.length, null, (e, n) => {
          if (e || n === 0) return done();
          const lines = (rest + buf.toString('latin1', 0, n)).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) {
            if (header) {
              header = false;
              continue;
            }
            // local_address is ADDR:PORT in hex; st 0A is LISTEN; the inode is column 10.
            const cols = line.trim().split(/\s+/);
            if (cols[3] !== '0A') return done();
            if (cols.length > 9 && cols[9] !== '0') found(parseInt(cols[1]!.slice(cols[1]!.lastIndexOf(':') + 1), 16), cols[9]!);
          }
          next();
        });
      next();
    });
  });
}

/**
 * Which of our processes holds a socket inode: a walk over /proc/<pid>/fd (only ours are readable),
 * newest process first, that stops at the first process holding one of the inodes asked about and
 * goes on from there on the next question. The servers and proxies a run asks about were started
 * lately, so the walk seldom reads more than a few processes.
 */
function socketOwners(): (inodes: Set<string>) => number | undefined {
  const owners = new Map<string, number>();
  let pids: number[] | undefined;
  let next = 0;
  return (inodes) => {
    for (const i of inodes) if (owners.has(i)) return owners.get(i);
    if (!pids) {
      try {
        pids = readdirSync('/proc')
          .filter((d) => /^\d+$/.test(d))
          .map(Number)
          .sort((a, b) => b - a);
      } catch {
        pids = [];
      }
    }
    while (next < pids.length) {
      const pid = pids[next++]!;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      let hit = false;
      for (const fd of fds) {
        try {
          const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
          if (!link.startsWith('socket:[')) continue;
          const inode = link.slice(8, -1);
          owners.set(inode, pid);
          if (inodes.has(inode)) hit = true;
        } catch {
          /* closed meanwhile */
        }
      }
      if (hit) return pid;
    }
    return undefined;
  };
}

/** Linux: /proc/net/tcp names the listening socket's inode, the owners walk its process. */
async function procHolder(port: number, listening: () => Promise<Map<number, Set<string>>>, owners: () => (inodes: Set<string>) => number | undefined): Promise<PortProcess | undefined> {
  const inodes = (await listening()).get(port);
  if (!inodes?.size) return undefined;
  const pid = owners()(inodes);
  if (pid === undefined) return undefined;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    let cwd: string | undefined;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      /* another user's process */
    }
    return { pid, argv, ...(cwd ? { cwd } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * A lookup of the processes on local ports for one run: the listening sockets are read once, and
 * /proc's processes walked at most once, on the ports asked about (a doctor run asks about a proxy
 * and its servers together). Each port's answer is kept: ask a new lookup for a fresh view.
 */
export function portProcessLookup(opts: HolderOptions = {}): (port: number) => Promise<PortProcess | undefined> {
  let owners: ReturnType<typeof socketOwners> | undefined;
  let listening: Promise<Map<number, Set<string>>> | undefined;
  const answers = new Map<number, Promise<PortProcess | undefined>>();
  // A test that stands in for lsof (exec) stands in for the whole lookup: the real /proc is not read.
  const procNet = !opts.exec && (opts.platform ?? process.platform) === 'linux' && existsSync('/proc/net/tcp');
  const one = async (port: number) => {
    if (procNet) {
      const p = await procHolder(
        port,
        () => (listening ??= listenTable()),
        () => (owners ??= socketOwners()),
      );
      if (p) return p;
    }
    return lsofHolder(port, opts);
  };
  return (port) => {
    let a = answers.get(port);
    if (!a) answers.set(port, (a = one(port)));
    return a;
  };
}

/**
 * Who listens on a local port: /proc on Linux, else lsof + ps (the command line split on blanks:
 * ps loses the quoting). Undefined when nothing does, or the process is not ours to see.
 */
export async function processOnPort(port: number, opts: HolderOptions = {}): Promise<PortProcess | undefined> {
  return portProcessLookup(opts)(port);
}

async function lsofHolder(port: number, opts: HolderOptions): Promise<PortProcess | undefined> {
  const holder = await describePortHolder(port, opts);
  if (!holder) return undefined;
  const base = { pid: holder.pid, command: holder.command };
  if (!holder.commandLine) return { ...base, argv: [] };
  let cwd: string | undefined;
  try {
    const r = await (opts.exec ?? run)('lsof', ['-a', '-p', String(holder.pid), '-d', 'cwd', '-Fn'], { timeoutMs: 5000 });
    cwd = /^n(.+)$/m.exec(r.stdout)?.[1];
  } catch {
    /* the folder is only for a relative --config */
  }
  // /proc/<pid>/cmdline (Linux) is exact; a `ps` line is kept too, since splitting it loses quoting.
  return holder.argv
    ? { ...base, argv: holder.argv, ...(cwd ? { cwd } : {}) }
    : { ...base, argv: holder.commandLine.split(/\s+/).filter(Boolean), commandLine: holder.commandLine, ...(cwd ? { cwd } : {}) };
}

/** The local processes whose command line mentions `needle` (/proc, else ps), with their folder where it can be read. */
async function processesNaming(needle: string, processes?: () => Promise<Array<{ pid: number; argv: string[]; cwd?: string }>>): Promise<Array<{ pid: number; argv: string[]; cwd?: string }>> {
  const procs: Array<{ pid: number; argv: string[]; cwd?: string }> = [];
  if (processes) return processes();
  if (process.platform === 'linux') {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        if (argv[argv.length - 1] === '') argv.pop();
        if (!argv.some((a) => a.includes(needle))) continue;
        let cwd: string | undefined;
        try {
          cwd = readlinkSync(`/proc/${d}/cwd`);
        } catch {
          /* another user's process */
        }
        procs.push({ pid: Number(d), argv, ...(cwd ? { cwd } : {}) });
      } catch {
        /* gone, or not ours */
      }
    }
    return procs;
  }
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((res) => execFile('ps', ['-axww', '-o', 'pid=,args='], { timeout: 3000 }, (_e, so) => res(String(so ?? ''))));
  for (const l of out.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(l);
    if (m && m[2]!.includes(needle)) procs.push({ pid: Number(m[1]), argv: m[2]!.split(/\s+/) });
  }
  return procs;
}

/** Every local mlx_lm.server's --model and port, from the command lines (/proc, else ps). */
export async function localMlxServers(processes?: () => Promise<Array<{ pid: number; argv: string[] }>>): Promise<Array<{ pid: number; model: string; host: string; port: number }>> {
  let procs: Array<{ pid: number; argv: string[] }> = [];
  try {
    procs = await processesNaming('mlx_lm', processes);
  } catch {
    return [];
  }
  const out: Array<{ pid: number; model: string; host: string; port: number }> = [];
  for (const p of procs) {
    const a = mlxServerArgs(p.argv);
    if (!a.isMlx || !a.model) continue;
    const i = p.argv.findIndex((x) => /mlx_lm/.test(x));
    const rest = p.argv.slice(i + 1);
    out.push({ pid: p.pid, model: a.model, host: optValue(rest, ['--host']).model ?? '127.0.0.1', port: Number(optValue(rest, ['--port']).model ?? 8080) });
  }
  return out;
}

/**
 * Every local LiteLLM proxy, from the command lines: its --config (resolved against its folder) and
 * its --port (LiteLLM's default 4000). The folder of a process `ps` lists is asked of lsof, for a
 * relative --config only.
 */
export async function localLitellmProxies(
  processes?: () => Promise<Array<{ pid: number; argv: string[]; cwd?: string }>>,
  opts: HolderOptions = {},
): Promise<Array<{ pid: number; argv: string[]; cwd?: string; config?: string; port: number }>> {
  let procs: Array<{ pid: number; argv: string[]; cwd?: string }> = [];
  try {
    procs = await processesNaming('litellm', processes);
  } catch {
    return [];
  }
  const out: Array<{ pid: number; argv: string[]; cwd?: string; config?: string; port: number }> = [];
  for (const p of procs) {
    // The program itself (`litellm`, `python3 …/bin/litellm`, `python3 -m litellm`), not an argument of another one (`grep litellm`).
    const i = p.argv.findIndex((a, j) => (/(^|\/)litellm$/.test(a) && (j === 0 || (j === 1 && /(^|\/)python[\d.]*$/.test(p.argv[0]!)))) || (a === '-m' && p.argv[j + 1] === 'litellm'));
    if (i < 0) continue;
    let cwd = p.cwd;
    const rest = p.argv.slice(i + 1);
    const c = optValue(rest, ['--config', '-c']).model;
    if (c && !isAbsolute(c) && !cwd && !processes) {
      try {
        const r = await (opts.exec ?? run)('lsof', ['-a', '-p', String(p.pid), '-d', 'cwd', '-Fn'], { timeoutMs: 5000 });
        cwd = /^n(.+)$/m.exec(r.stdout)?.[1];
      } catch {
        /* its config stays relative: not used */
      }
    }
    const la = litellmArgs(p.argv, cwd);
    const port = Number(optValue(rest, ['--port']).model ?? 4000);
    if (!Number.isInteger(port) || port <= 0) continue;
    out.push({ pid: p.pid, argv: p.argv, ...(cwd ? { cwd } : {}), ...(la.config && isAbsolute(la.config) ? { config: la.config } : {}), port });
  }
  return out;
}
