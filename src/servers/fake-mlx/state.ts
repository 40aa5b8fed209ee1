/** The stand-in's public types, and the one object all its routes share. */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { featuresOf, parseMlxVersion, type Features, type Version } from './versions.js';

export interface FakeMlxFaults {
  /** Accept the connection and the request, never answer. */
  hang?: boolean;
  /** Prompt-processing time before the first token of a completion. */
  delayMs?: number;
  /** Model still loading (≥0.31.3): /health answers, completions wait. `true` until cleared; a number = ms. */
  loading?: boolean | number;
  /** Completions: drop the socket without a response, as the server does when a parameter fails validation. */
  closeWithoutResponse?: boolean;
  /** Serve N requests, then die: the N+1th request's socket is dropped and the port stops listening. */
  crashAfter?: number;
  /** A thinking model: `field` = `message.reasoning` (≥0.30.1), `tags` = `<think>…</think>` in content, `true` = by version. */
  reasoning?: boolean | 'field' | 'tags';
  /** The tokenizer has no chat template: the server silently falls back to `USER:/ASSISTANT:` role-play. */
  noChatTemplate?: boolean;
  /** `other` imitates a different server on the port (Ollama-like answers). */
  identity?: 'mlx' | 'other';
  /** Prompt processing at this many tokens a second: a turn waits for its uncached tokens (after delayMs). */
  prefillTokPerSec?: number;
}

export interface FakeMlxServerOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** The `--model` the server was started with. */
  model: string;
  /** mlx-lm version to imitate, e.g. '0.32' (default), '0.31.1', '0.27'. A missing patch counts as .0. */
  version?: string;
  /** The server's `--max-tokens` (default 512). */
  maxTokens?: number;
  /** The server's `--prompt-cache-size`: KV caches kept (default 10, like mlx_lm.server). */
  promptCacheSize?: number;
  /** Other repo ids "in the HF cache": listed by /v1/models, and a request naming one swaps the model. */
  cachedModels?: string[];
  faults?: FakeMlxFaults;
  /** HF_HUB_OFFLINE=1 in the server's environment: a name not in the cache fails locally, not at the Hub. */
  hubOffline?: boolean;
  /** One line per request, like the stdlib access log (plus tracebacks for dropped requests). */
  log?: (line: string) => void;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Parsed JSON, or the raw text when it is not JSON; absent when empty. */
  body?: unknown;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** The status sent; absent while pending, or when the socket was dropped. */
  status?: number;
}

export interface FakeMlxServer {
  host: string;
  port: number;
  /** http://127.0.0.1:PORT */
  rootUrl: string;
  /** http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  model: string;
  version: string;
  requests: RecordedRequest[];
  readonly faults: Readonly<FakeMlxFaults>;
  /** The repo currently resident (changes when a request names a cached model). */
  readonly loadedModel: string;
  readonly crashed: boolean;
  /** Merge fault switches (pass `false`/`undefined` to clear one). */
  setFaults(f: Partial<FakeMlxFaults>): void;
  close(): Promise<void>;
}

/** Everything the routes read and change, in one place. */
export interface FakeState {
  readonly opts: FakeMlxServerOptions;
  readonly versionText: string;
  readonly version: Version;
  readonly feat: Features;
  /** The server's `--max-tokens`. */
  readonly cliMaxTokens: number;
  readonly cached: string[];
  readonly fingerprint: string;
  readonly log: (line: string) => void;
  readonly requests: RecordedRequest[];
  readonly sockets: Set<Socket>;
  readonly timers: Set<NodeJS.Timeout>;
  faults: FakeMlxFaults;
  loadingTimer: NodeJS.Timeout | undefined;
  /** Completions parked until the model has loaded. */
  readyWaiters: Array<() => void>;
  loadedModel: string;
  served: number;
  crashed: boolean;
  /**
   * The prompt cache (LRUPromptCache): per model, the token sequences of earlier turns (prompt +
   * reply), least recently used first. A turn reuses the longest common prefix with any of them.
   */
  promptCache: Map<string, string[][]>;
}

export function createState(opts: FakeMlxServerOptions): FakeState {
  const versionText = opts.version ?? '0.32';
  const version = parseMlxVersion(versionText);
  return {
    opts,
    versionText,
    version,
    feat: featuresOf(version),
    cliMaxTokens: opts.maxTokens ?? 512,
    cached: opts.cachedModels ?? [],
    fingerprint: `${version.join('.')}-0.29.1-macOS-15.1-arm64-arm-64bit-applegpu_g15s`,
    log: opts.log ?? (() => {}),
    requests: [],
    sockets: new Set(),
    timers: new Set(),
    faults: {},
    loadingTimer: undefined,
    readyWaiters: [],
    loadedModel: opts.model,
    served: 0,
    crashed: false,
    promptCache: new Map(),
  };
}
