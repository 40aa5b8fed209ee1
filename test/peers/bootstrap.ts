// Installs the REAL peers (mlx_lm.server, the LiteLLM proxy, aider) into three separate venvs made
// with the machine's python3, so the peer tests can prove the whole chain end to end.
//
//   <root>/<hash of pins.json>/{mlx,litellm,aider}     root = $AIDER_MLX_PEERS_DIR or ~/.cache/aider-mlx-peers
//
// A venv is reused when its marker file (written only after a fully successful install and smoke
// check) is present; a change to pins.json gives a new hash and so a fresh set. One lock file per hash
// keeps two vitest workers from installing at the same time. A failed install is recorded (stderr
// tail) and reported in `errors`, so the tests that need that peer skip with the reason.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '../..');
export const PINS_PATH = path.join(HERE, 'pins.json');
export const COMPROMISED_PATH = path.join(REPO_ROOT, 'data/compromised.json');

export const PEER_NAMES = ['mlx', 'litellm', 'aider'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

export interface PeerPin {
  /** pip requirement, must be an exact `name[extras]==version` pin */
  requirement: string;
  /** distribution whose version is reported as the peer's version */
  package: string;
  /** console script the tests run, in <venv>/bin */
  bin: string;
  /** module imported as a smoke check after the install */
  import: string;
  /** extra pip constraint lines for this venv */
  constraints?: string[];
}
export type Pins = Record<PeerName, PeerPin>;
export type Compromised = Record<string, string[]>;

export interface Peer {
  name: PeerName;
  venv: string;
  /** absolute path of the console script (mlx_lm.server, litellm, aider) */
  bin: string;
  /** absolute path of the venv's python */
  python: string;
  /** version of the pinned package */
  version: string;
  /** versions of the interesting distributions present in the venv */
  versions: Record<string, string>;
  /** seconds the install took when it was made (0 when unknown) */
  installSeconds: number;
  /** true when this call installed it, false when an earlier install was reused */
  fresh: boolean;
}

export interface Peers {
  mlx?: Peer;
  litellm?: Peer;
  aider?: Peer;
  /** peer name -> why it is not available (installer stderr tail, smoke check failure, …) */
  errors: Partial<Record<PeerName, string>>;
  /** <root>/<hash> */
  dir: string;
  hash: string;
}

/** Distributions whose versions are recorded in the marker and reported. */
const REPORTED = [
  'mlx-lm', 'mlx', 'mlx-cpu', 'mlx-metal', 'transformers', 'tokenizers', 'huggingface-hub', 'safetensors',
  'numpy', 'litellm', 'openai', 'aider-chat', 'fastapi', 'uvicorn', 'httpx',
];

const MARKER = '.aider-mlx-peer.json';
/** A recorded install failure is believed for this long (one test run), then the install is retried. */
const FAILURE_TTL_MS = Number(process.env.AIDER_MLX_PEERS_FAILURE_TTL_MS ?? 30 * 60_000);
const LOCK_WAIT_MS = 90 * 60_000;

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** `litellm[proxy]==1.2.3` -> {name: 'litellm', version: '1.2.3'}; null when not an exact pin. */
export function parsePin(requirement: string): { name: string; version: string } | null {
  const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*===?\s*([A-Za-z0-9.+!_-]+)\s*$/.exec(requirement);
  if (!m) return null;
  return { name: normalizeName(m[1]!), version: m[3]! };
}

export function readCompromised(file = COMPROMISED_PATH): Compromised {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const out: Compromised = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith('/') || !Array.isArray(v)) continue;
    out[normalizeName(k)] = v.map(String);
  }
  return out;
}

/** Throws with a clear message when a pin is not exact or names a known-compromised release. */
export function checkPins(pins: Pins, compromised: Compromised): void {
  for (const name of PEER_NAMES) {
    const pin = pins[name];
    if (!pin) throw new Error(`test/peers/pins.json: no entry for peer "${name}"`);
    const parsed = parsePin(pin.requirement);
    if (!parsed) {
      throw new Error(`test/peers/pins.json: ${name}.requirement "${pin.requirement}" is not an exact "package==version" pin`);
    }
    const bad = compromised[parsed.name];
    if (bad?.includes(parsed.version)) {
      throw new Error(
        `test/peers/pins.json: refusing to install ${parsed.name}==${parsed.version} for peer "${name}": ` +
          `that release is on the known-compromised list (data/compromised.json: ${bad.join(', ')}). Pin another version.`,
      );
    }
  }
}

/** pip constraint lines that forbid every compromised release (`litellm!=1.82.7,!=1.82.8`). */
export function compromisedConstraints(compromised: Compromised): string[] {
  return Object.entries(compromised)
    .filter(([, versions]) => versions.length > 0)
    .map(([name, versions]) => `${name}${versions.map((v) => `!=${v}`).join(',')}`);
}

export function peersRoot(): string {
  return process.env.AIDER_MLX_PEERS_DIR || path.join(os.homedir(), '.cache', 'aider-mlx-peers');
}

export function pinsHash(text = fs.readFileSync(PINS_PATH, 'utf8')): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

export function readPins(text = fs.readFileSync(PINS_PATH, 'utf8')): Pins {
  const raw = JSON.parse(text) as Record<string, unknown>;
  return Object.fromEntries(PEER_NAMES.map((n) => [n, raw[n] as PeerPin])) as Pins;
}

interface RunResult { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; logFile?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
    log?.write(`$ ${[cmd, ...args].join(' ')}\n`);
    child.stdout.on('data', (d: Buffer) => { stdout += d; log?.write(d); });
    child.stderr.on('data', (d: Buffer) => { stderr += d; log?.write(d); });
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code) => {
      log?.end(`\n[exit ${code}]\n`);
      resolve({ code, stdout, stderr });
    });
  });
}

export function tail(text: string, lines = 25, chars = 3000): string {
  const t = text
    .trimEnd()
    .split('\n')
    // this machine's pip config names local indexes that may be absent: pure noise in a failure report
    .filter((l) => !/^WARNING: Location '.*' is ignored/.test(l))
    .slice(-lines)
    .join('\n');
  return t.length > chars ? t.slice(-chars) : t;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Exclusive lock file with stale-owner detection (owner pid gone). */
async function withLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  let announced = false;
  for (;;) {
    try {
      const fd = fs.openSync(lockPath, 'wx');
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() }));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner: { pid?: number; host?: string } = {};
      try {
        owner = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as typeof owner;
      } catch {
        // being written right now, or garbage: judge by age below
      }
      const age = Date.now() - (fs.statSync(lockPath, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      const stale =
        (owner.pid !== undefined && owner.host === os.hostname() && !pidAlive(owner.pid)) ||
        (owner.pid === undefined && age > 60_000);
      if (stale) {
        fs.rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() - start > LOCK_WAIT_MS) throw new Error(`timed out waiting for the peers lock ${lockPath}`);
      if (!announced) {
        process.stderr.write(`[peers] waiting for another process (pid ${owner.pid}) installing the peers…\n`);
        announced = true;
      }
      await sleep(2000);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}

async function venvVersions(python: string): Promise<Record<string, string>> {
  const script =
    'import json, importlib.metadata as m\n' +
    'out = {}\n' +
    `for p in ${JSON.stringify(REPORTED)}:\n` +
    '    try: out[p] = m.version(p)\n' +
    '    except m.PackageNotFoundError: pass\n' +
    'print(json.dumps(out))\n';
  const r = await run(python, ['-c', script]);
  if (r.code !== 0) throw new Error(`could not read versions: ${tail(r.stderr)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string>;
}

function readMarker(venv: string): Peer | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(venv, MARKER), 'utf8')) as Peer;
    if (!fs.existsSync(m.bin) || !fs.existsSync(m.python)) return null;
    return { ...m, fresh: false };
  } catch {
    return null;
  }
}

/** Checks the installed distributions against the compromised list; returns an error text or null. */
export function findCompromised(versions: Record<string, string>, compromised: Compromised): string | null {
  for (const [name, version] of Object.entries(versions)) {
    const bad = compromised[normalizeName(name)];
    if (bad?.includes(version)) return `${name}==${version} got installed and is on the known-compromised list`;
  }
  return null;
}

async function installOne(
  name: PeerName,
  pin: PeerPin,
  dir: string,
  compromised: Compromised,
  python: string,
): Promise<{ peer?: Peer; error?: string }> {
  const venv = path.join(dir, name);
  const failedFile = path.join(dir, `${name}.failed.txt`);
  const logFile = path.join(dir, `${name}.install.log`);

  const reused = readMarker(venv);
  if (reused) return { peer: reused };

  const failedAt = fs.statSync(failedFile, { throwIfNoEntry: false })?.mtimeMs;
  if (failedAt !== undefined && Date.now() - failedAt < FAILURE_TTL_MS) {
    return { error: fs.readFileSync(failedFile, 'utf8') };
  }

  const fail = (error: string) => {
    fs.writeFileSync(failedFile, error);
    process.stderr.write(`[peers] ${name}: install FAILED (full log: ${logFile})\n${error}\n`);
    return { error };
  };

  fs.rmSync(venv, { recursive: true, force: true });
  fs.rmSync(logFile, { force: true });
  const t0 = Date.now();
  process.stderr.write(`[peers] ${name}: installing ${pin.requirement} into ${venv} …\n`);

  const mk = await run(python, ['-m', 'venv', venv], { logFile });
  if (mk.code !== 0) return fail(`python3 -m venv failed (exit ${mk.code}):\n${tail(mk.stderr || mk.stdout)}`);

  const constraintsFile = path.join(dir, `${name}.constraints.txt`);
  fs.writeFileSync(constraintsFile, [...compromisedConstraints(compromised), ...(pin.constraints ?? [])].join('\n') + '\n');
  const vpython = path.join(venv, 'bin', 'python');
  const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PYTHONNOUSERSITE: '1' };
  const pip = await run(vpython, ['-m', 'pip', 'install', '--no-input', '-c', constraintsFile, pin.requirement], { env, logFile });
  if (pip.code !== 0) {
    return fail(`pip install ${pin.requirement} failed (exit ${pip.code}); stderr tail:\n${tail(pip.stderr || pip.stdout)}`);
  }

  const bin = path.join(venv, 'bin', pin.bin);
  if (!fs.existsSync(bin)) return fail(`${pin.requirement} installed but ${bin} is missing`);
  const smoke = await run(vpython, ['-c', `import ${pin.import}`], { logFile });
  if (smoke.code !== 0) return fail(`import ${pin.import} failed after the install:\n${tail(smoke.stderr)}`);

  let versions: Record<string, string>;
  try {
    versions = await venvVersions(vpython);
  } catch (e) {
    return fail(String(e));
  }
  const bad = findCompromised(versions, compromised);
  if (bad) {
    fs.rmSync(venv, { recursive: true, force: true });
    return fail(`${bad}; the venv was deleted`);
  }
  const peer: Peer = {
    name,
    venv,
    bin,
    python: vpython,
    version: versions[normalizeName(pin.package)] ?? versions[pin.package] ?? 'unknown',
    versions,
    installSeconds: Math.round((Date.now() - t0) / 100) / 10,
    fresh: true,
  };
  fs.writeFileSync(path.join(venv, MARKER), JSON.stringify(peer, null, 2));
  fs.rmSync(failedFile, { force: true });
  process.stderr.write(`[peers] ${name}: ${pin.package} ${peer.version} installed in ${peer.installSeconds}s\n`);
  return { peer };
}

let memo: Promise<Peers> | undefined;

/**
 * Makes sure the three peers are installed (installing what is missing) and returns where they are.
 * Never throws for an install failure: the reason lands in `errors[name]`. Throws for a bad pins file
 * (not an exact pin, or a known-compromised release).
 */
export function ensurePeers(): Promise<Peers> {
  memo ??= ensurePeersUncached();
  return memo;
}

async function ensurePeersUncached(): Promise<Peers> {
  const text = fs.readFileSync(PINS_PATH, 'utf8');
  const pins = readPins(text);
  const compromised = readCompromised();
  checkPins(pins, compromised);
  const hash = pinsHash(text);
  const dir = path.join(peersRoot(), hash);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'pins.json'), text);
  const python = process.env.AIDER_MLX_PEERS_PYTHON || 'python3';

  const result: Peers = { errors: {}, dir, hash };
  const fastPath = PEER_NAMES.map((n) => readMarker(path.join(dir, n)));
  const todo = async () => {
    for (const name of PEER_NAMES) {
      const r = await installOne(name, pins[name], dir, compromised, python);
      if (r.peer) result[name] = r.peer;
      else result.errors[name] = r.error ?? 'unknown install failure';
    }
  };
  if (fastPath.every(Boolean)) {
    PEER_NAMES.forEach((n, i) => (result[n] = fastPath[i]!));
  } else {
    await withLock(path.join(dir, '.lock'), todo);
  }
  return result;
}

/** One line per peer, for test logs and reports. */
export function describePeers(p: Peers): string {
  return PEER_NAMES.map((n) => {
    const peer = p[n];
    if (!peer) return `${n}: NOT AVAILABLE — ${p.errors[n]?.split('\n')[0] ?? '?'}`;
    const extra = Object.entries(peer.versions)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return `${n}: ${peer.version}${peer.fresh ? ` (installed now in ${peer.installSeconds}s)` : ' (reused)'} [${extra}]`;
  }).join('\n');
}
