import net from 'node:net';
import { existsSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describePortHolder, findFreePort, isPortFree, modelFromArgv, modelFromCommandLine, parseLsof, servedModelOf, type Exec } from './ports.js';

const open: net.Server[] = [];

async function listen(host = '127.0.0.1', port = 0): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen({ host, port }, r));
  open.push(srv);
  return (srv.address() as net.AddressInfo).port;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('isPortFree / findFreePort', () => {
  it('sees a listener, and a closed port as free', async () => {
    const busy = await listen();
    expect(await isPortFree('127.0.0.1', busy)).toBe(false);
    const free = await findFreePort('127.0.0.1');
    expect(await isPortFree('127.0.0.1', free)).toBe(true);
  });

  it('counts a wildcard listener as holding the port on 127.0.0.1', async () => {
    const busy = await listen('0.0.0.0');
    expect(await isPortFree('127.0.0.1', busy)).toBe(false);
  });

  it('keeps the preferred port when free, else moves up, skipping avoided ports', async () => {
    const free = await findFreePort('127.0.0.1');
    expect(await findFreePort('127.0.0.1', free)).toBe(free);
    const busy = await listen();
    const next = await findFreePort('127.0.0.1', busy, { avoid: [busy + 1] });
    expect(next).not.toBe(busy);
    expect(next).not.toBe(busy + 1);
    expect(await isPortFree('127.0.0.1', next)).toBe(true);
  });
});

const LSOF = `COMMAND   PID USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME
Python  41234 me     5u  IPv4 0x1234567890abcdef      0t0  TCP 127.0.0.1:8080 (LISTEN)
`;

describe('describePortHolder', () => {
  it('parses lsof and adds the command line from ps', async () => {
    const calls: string[][] = [];
    const exec: Exec = async (cmd, args) => {
      calls.push([cmd, ...args]);
      if (cmd === 'lsof') return { code: 0, stdout: LSOF, stderr: '' };
      return { code: 0, stdout: 'python -m mlx_lm.server --model mlx-community/QwQ-32B-4bit --port 8080\n', stderr: '' };
    };
    expect(await describePortHolder(8080, { exec, platform: 'darwin' })).toEqual({
      command: 'Python',
      pid: 41234,
      user: 'me',
      address: '127.0.0.1:8080',
      commandLine: 'python -m mlx_lm.server --model mlx-community/QwQ-32B-4bit --port 8080',
    });
    expect(calls[0]).toEqual(['lsof', '-nP', '-iTCP:8080', '-sTCP:LISTEN']);
    expect(calls[1]).toEqual(['ps', '-o', 'args=', '-p', '41234']);
  });

  it('is undefined when lsof is missing or finds nothing', async () => {
    const missing: Exec = async () => {
      throw Object.assign(new Error('spawn lsof ENOENT'), { code: 'ENOENT' });
    };
    expect(await describePortHolder(8080, { exec: missing })).toBeUndefined();
    const none: Exec = async () => ({ code: 1, stdout: '', stderr: '' });
    expect(await describePortHolder(8080, { exec: none })).toBeUndefined();
  });

  it('finds a real listener with the real lsof, when there is one', async () => {
    const port = await listen();
    const holder = await describePortHolder(port);
    if (holder === undefined) return; // no lsof here, or not allowed to see sockets
    expect(holder.pid).toBe(process.pid);
  });

  it('parseLsof skips the header and tolerates junk', () => {
    expect(parseLsof('COMMAND PID\n')).toBeUndefined();
    expect(parseLsof(LSOF)?.command).toBe('Python');
  });
});

describe('which model a local mlx_lm.server serves, from its command line', () => {
  const lsofFor = (pid: number): Exec => async (cmd) =>
    cmd === 'lsof'
      ? { code: 0, stdout: `COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\nPython ${pid} me 5u IPv4 0x1 0t0 TCP 127.0.0.1:8080 (LISTEN)\n`, stderr: '' }
      : { code: 0, stdout: 'python -m mlx_lm.server --model /Users/me/My Models/qwen --port 8080\n', stderr: '' };

  it('reads the exact argv on Linux (/proc/<pid>/cmdline), spaces in a path kept', async () => {
    const readFile = async (p: string) => {
      expect(p).toBe('/proc/4242/cmdline');
      return '/opt/py/bin/python3\x00-m\x00mlx_lm.server\x00--model\x00/Users/me/My Models/qwen\x00--port\x008080\x00';
    };
    expect(await servedModelOf('127.0.0.1', 8080, undefined, { exec: lsofFor(4242), platform: 'linux', readFile })).toMatchObject({ kind: 'cmdline', model: '/Users/me/My Models/qwen', pid: 4242 });
  });

  it('macOS: from `ps -o args=`; a planned path with spaces is read whole when it is there', async () => {
    const exec = lsofFor(4242);
    expect(await servedModelOf('localhost', 8080, '/Users/me/My Models/qwen', { exec, platform: 'darwin' })).toMatchObject({ kind: 'cmdline', model: '/Users/me/My Models/qwen' });
    expect(await servedModelOf('127.0.0.1', 8080, 'mlx-community/other', { exec, platform: 'darwin' })).toMatchObject({ kind: 'cmdline', model: '/Users/me/My' });
  });

  it('a remote host is never looked up; an unreadable or foreign command line says why', async () => {
    const never: Exec = async () => {
      throw new Error('must not run');
    };
    expect(await servedModelOf('mac-studio.local', 8080, 'x/y', { exec: never })).toEqual({ kind: 'remote' });
    const none: Exec = async () => ({ code: 1, stdout: '', stderr: '' });
    expect(await servedModelOf('127.0.0.1', 8080, 'x/y', { exec: none, platform: 'darwin' })).toMatchObject({ kind: 'unreadable', why: expect.stringMatching(/no process holding port 8080/) });
    const tunnel: Exec = async (cmd) =>
      cmd === 'lsof' ? lsofFor(7)(cmd, []) : { code: 0, stdout: 'ssh -N -L 8080:127.0.0.1:8080 me@studio\n', stderr: '' };
    expect(await servedModelOf('127.0.0.1', 8080, 'x/y', { exec: tunnel, platform: 'darwin' })).toMatchObject({ kind: 'unreadable', why: expect.stringMatching(/SSH tunnel \(pid 7\)/) });
  });

  it('argv and line parsing: --model X, --model=X, nothing for other programs', () => {
    expect(modelFromArgv(['python', '-m', 'mlx_lm.server', '--model=a/b'])).toBe('a/b');
    expect(modelFromArgv(['node', 'server.js', '--model', 'a/b'])).toBeUndefined();
    expect(modelFromCommandLine('/usr/bin/python3 /x/bin/mlx_lm.server --port 1 --model a/b --max-tokens 9')).toBe('a/b');
    expect(modelFromCommandLine('ollama serve')).toBeUndefined();
  });

  it('the stand-in launched as a process carries --model in its real command line', async () => {
    const bin = join(import.meta.dirname, '../../bin/aider-mlx.js');
    const child = spawn(process.execPath, [bin, 'fake-mlx-server', '--model', 'mlx-community/A-4bit', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (d) => {
          err += d;
          const m = /on port (\d+)/.exec(err);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', () => reject(new Error(`stand-in exited: ${err}`)));
      });
      const r = await servedModelOf('127.0.0.1', port, undefined);
      if (r.kind === 'unreadable' && /lsof/.test(r.why)) return; // no lsof here
      expect(r).toMatchObject({ kind: 'cmdline', model: 'mlx-community/A-4bit', pid: child.pid });
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('one port-holder lookup for setup, serve and the doctor', () => {
  it('servedModelOf reads through a run\'s own lookup (the doctor\'s cached one), exact argv or a ps line', async () => {
    const { mlxServerArgs } = await import('./ports.js');
    const seen: number[] = [];
    const lookup = async (port: number) => {
      seen.push(port);
      return port === 1 ? { pid: 9, argv: ['/usr/bin/node', '/x/bin/aider-mlx.js', 'fake-mlx-server', '--model', 'a/b', '--port', '1'] } : { pid: 8, argv: ['python', 'mlx_lm.server', '--model', '/My', 'Models/q'], commandLine: 'python mlx_lm.server --model /My Models/q' };
    };
    expect(await servedModelOf('127.0.0.1', 1, undefined, { lookup })).toMatchObject({ kind: 'cmdline', model: 'a/b', pid: 9 });
    expect(await servedModelOf('127.0.0.1', 2, '/My Models/q', { lookup })).toMatchObject({ kind: 'cmdline', model: '/My Models/q', pid: 8 });
    expect(seen).toEqual([1, 2]);
    // The stand-in (what --demo and the e2e tests run) is an mlx_lm.server to the doctor too.
    expect(mlxServerArgs(['/usr/bin/node', '/x/bin/aider-mlx.js', 'fake-mlx-server', '--model', 'a/b'])).toEqual({ isMlx: true, model: 'a/b' });
  });
});

describe('processOnPort', () => {
  it('finds the local process listening on a port, with its argument vector and folder', async () => {
    const { spawn } = await import('node:child_process');
    const { processOnPort } = await import('./ports.js');
    const script = "const s=require('net').createServer().listen(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'))";
    const child = spawn(process.execPath, ['-e', script, '--', 'mlx_lm.server', '--model', 'a b/c'], { stdio: ['ignore', 'pipe', 'ignore'], cwd: tmpdir() });
    try {
      const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
      const p = await processOnPort(port);
      expect(p?.pid).toBe(child.pid);
      if (existsSync('/proc/net/tcp')) {
        expect(p?.argv.slice(-4)).toEqual(['--', 'mlx_lm.server', '--model', 'a b/c']);
        expect(p?.cwd).toBe(realpathSync(tmpdir()));
      } else expect(p?.argv.join(' ')).toContain('mlx_lm.server --model a b/c');
      expect(await processOnPort(1)).toBeUndefined();
    } finally {
      child.kill();
    }
  });
});

describe('portProcessLookup', () => {
  it('one lookup for a run: each port its own holder, the older process and the newer, whichever is asked first', async () => {
    const { portProcessLookup } = await import('./ports.js');
    const script = "const s=require('net').createServer().listen(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'))";
    const start = async (tag: string) => {
      const child = spawn(process.execPath, ['-e', script, '--', tag], { stdio: ['ignore', 'pipe', 'ignore'] });
      const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
      return { child, port };
    };
    const older = await start('older');
    const newer = await start('newer');
    try {
      for (const order of [[older, newer], [newer, older]]) {
        const lookup = portProcessLookup();
        for (const p of order) {
          const found = await lookup(p.port);
          expect(found?.pid).toBe(p.child.pid);
          expect(found?.argv.at(-1)).toBe(p === older ? 'older' : 'newer');
        }
        expect(await lookup(1)).toBeUndefined();
      }
    } finally {
      older.child.kill();
      newer.child.kill();
    }
  });
});

describe('listenLines (/proc/net/tcp)', () => {
  it('reads the listening sockets, which the kernel lists first, and stops at the first other line (TIME_WAIT thousands are not read)', async () => {
    const { listenLines } = await import('./ports.js');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'aider-mlx-tcp-'));
    try {
      const line = (sl: number, port: number, st: string, inode: number) =>
        `${String(sl).padStart(4)}: 0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 ${st} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
      const waits = Array.from({ length: 3000 }, (_, i) => line(i + 3, 40000 + (i % 20000), '06', 0));
      const file = join(dir, 'tcp');
      // A LISTEN line after the established ones cannot be in a real file; it shows how far the reading went.
      writeFileSync(file, ['  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode', line(0, 8080, '0A', 111), line(1, 4000, '0A', 222), line(2, 4000, '0A', 333), ...waits, line(3003, 9999, '0A', 444), ''].join('\n'));
      const seen: Array<[number, string]> = [];
      await listenLines(file, (port, inode) => seen.push([port, inode]));
      expect(seen).toEqual([[8080, '111'], [4000, '222'], [4000, '333']]);
      // No file (another OS, or no tcp6): nothing, no error.
      await listenLines(join(dir, 'none'), () => seen.push([0, '']));
      expect(seen).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('servedModelAt', () => {
  it('the --model of the process holding the port, not the first model it lists; the one model listed when the process cannot be read; else unknown', async () => {
    const { servedModelAt } = await import('./ports.js');
    const script = "const s=require('net').createServer().listen(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'))";
    const child = spawn(process.execPath, ['-e', script, '--', 'mlx_lm.server', '--model', 'mlx-community/Served-4bit', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
      const listed = ['mlx-community/Another-4bit', 'mlx-community/Served-4bit'];
      if (process.platform === 'linux') expect(await servedModelAt('127.0.0.1', port, listed)).toEqual({ model: 'mlx-community/Served-4bit', how: 'cmdline', pid: child.pid });
      // No process to read (nothing holds that port here: e.g. another user's): the listing decides only when it names one model.
      const nobody = await findFreePort("127.0.0.1", 20000 + Math.floor(Math.random() * 20000));
      expect(await servedModelAt('127.0.0.1', nobody, ['mlx-community/Only-4bit'])).toEqual({ model: 'mlx-community/Only-4bit', how: 'listing' });
      expect(await servedModelAt('127.0.0.1', nobody, listed)).toEqual({ how: 'unknown' });
      // Another machine: no command line to read from here.
      expect(await servedModelAt('192.0.2.7', port, listed)).toEqual({ how: 'unknown' });
    } finally {
      child.kill();
    }
  });
});

describe('localLitellmProxies', () => {
  it('reads each proxy\'s --config (against its folder) and --port (4000 when not given); other processes are not proxies', async () => {
    const { localLitellmProxies } = await import('./ports.js');
    const found = await localLitellmProxies(async () => [
      { pid: 1, argv: ['/u/bin/litellm', '--config', 'litellm.yaml', '--port', '4100'], cwd: '/u/me' },
      { pid: 2, argv: ['python3', '-m', 'litellm', '--config=/etc/l.yaml'] },
      { pid: 3, argv: ['/u/bin/litellm', '--config', 'rel.yaml'] },
      { pid: 4, argv: ['grep', 'litellm'] },
    ]);
    expect(found.map((p) => [p.pid, p.config, p.port])).toEqual([
      [1, '/u/me/litellm.yaml', 4100],
      [2, '/etc/l.yaml', 4000],
      // A relative --config whose folder is unknown is not guessed.
      [3, undefined, 4000],
    ]);
  });
});
