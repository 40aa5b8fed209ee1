// A model pulled from the stand-in Hub (interrupted, then resumed) loads in the real mlx_lm.server,
// offline and online. Skipped when the mlx peer cannot be installed (see test/peers/README.md).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePeers, ensurePeers } from '../peers/bootstrap.js';
import { chatBody, cleanupTemp, httpRequest, makeTinyModel, missingPeers, startMlxServer, tempDir, TINY_EDITOR, type MlxServer } from '../peers/harness.js';
import { scanCachedModel } from '../../src/hub/cache.js';
import { pullModel } from '../../src/hub/download.js';
import { repoFromDirectory, startStandInHub, type StandInHub } from './server.js';

const SLOW = 5 * 60_000;
const REPO = 'aider-mlx-test/tiny-pulled';

describe('a pulled model in the real mlx_lm.server', () => {
  let skip: string | null = null;
  let hub: StandInHub;
  let hfHome: string;
  let snapshot: string;
  const servers: MlxServer[] = [];

  beforeAll(async () => {
    const peers = await ensurePeers();
    skip = missingPeers(peers, ['mlx']);
    if (skip) {
      console.warn(`[peers] skipping: ${skip}\n${describePeers(peers)}`);
      return;
    }
    const made = await makeTinyModel(tempDir('hf-src'), TINY_EDITOR);
    hub = await startStandInHub({ repos: [repoFromDirectory(REPO, made.snapshot)] });
    hfHome = tempDir('hf-pulled');
    const env = { HF_ENDPOINT: hub.url, HF_HOME: hfHome };
    hub.behavior.cutAfterBytes = 4096;
    hub.behavior.cutTimes = 1;
    await expect(pullModel({ repoId: REPO, env, retries: 0 })).rejects.toMatchObject({ tryThis: expect.stringContaining('resumes') });
    const r = await pullModel({ repoId: REPO, env });
    expect(r.resumedBytes).toBeGreaterThan(0);
    snapshot = r.snapshotPath;
  }, 45 * 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await hub?.close();
    cleanupTemp();
  }, 60_000);

  it('lands where mlx_lm looks and scans as complete', async (ctx) => {
    if (skip) ctx.skip(skip);
    expect(snapshot.startsWith(join(hfHome, 'hub', 'models--aider-mlx-test--tiny-pulled', 'snapshots'))).toBe(true);
    expect((await scanCachedModel(REPO, { env: { HF_HOME: hfHome } }))!.status).toBe('complete');
  });

  it('answers offline (HF_HUB_OFFLINE=1)', async (ctx) => {
    if (skip) ctx.skip(skip);
    const srv = await startMlxServer({ model: REPO, hfHome });
    servers.push(srv);
    const r = await httpRequest(`${srv.baseUrl}/chat/completions`, { body: chatBody('default_model') });
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body).choices[0].message.content).toBe(TINY_EDITOR.answer);
  }, SLOW);

  it('answers online against the stand-in Hub without downloading again', async (ctx) => {
    if (skip) ctx.skip(skip);
    const cdnBefore = hub.requests.filter((q) => q.host === 'cdn').length;
    const srv = await startMlxServer({ model: REPO, hfHome, offline: false, hfEndpoint: hub.url });
    servers.push(srv);
    const r = await httpRequest(`${srv.baseUrl}/chat/completions`, { body: chatBody('default_model') });
    expect(JSON.parse(r.body).choices[0].message.content).toBe(TINY_EDITOR.answer);
    expect(hub.requests.filter((q) => q.host === 'cdn').length).toBe(cdnBefore);
  }, SLOW);
});
