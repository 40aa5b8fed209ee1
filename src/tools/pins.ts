/**
 * The Python tools aider-mlx installs, pinned to the versions the peer tests run against
 * (test/peers/pins.json; a test keeps the two equal). Never a release on data/compromised.json.
 */
export interface ToolSpec {
  /** Distribution name on PyPI. */
  package: string;
  version: string;
  extras: (platform: NodeJS.Platform) => string[];
  /** The console script other commands run. */
  bin: string;
  /** Console scripts linked into ~/.local/bin when aider-mlx owns the venv. */
  links: string[];
  /** [script, ...args] that prints the version, and how to read it. */
  versionCommand: string[];
  versionPattern: RegExp;
  /** uv/pipx `--python` (aider supports 3.10–3.12; uv fetches one when the machine has none). */
  python?: string;
  /** What it is for, in a few words. */
  purpose: string;
}

export const TOOLS = {
  'mlx-lm': {
    package: 'mlx-lm',
    version: '0.32.2',
    // On Linux (CI, tests) MLX runs on the CPU backend, which is an extra.
    extras: (platform: NodeJS.Platform) => (platform === 'darwin' ? [] : ['cpu']),
    bin: 'mlx_lm.server',
    links: ['mlx_lm.server', 'mlx_lm'],
    versionCommand: ['mlx_lm', '--version'],
    versionPattern: /(\d+\.\d+\.\d+)/,
    purpose: 'serves MLX models (mlx_lm.server)',
  },
  litellm: {
    package: 'litellm',
    version: '1.108.7',
    extras: () => ['proxy'],
    bin: 'litellm',
    links: ['litellm'],
    versionCommand: ['litellm', '--version'],
    versionPattern: /(\d+\.\d+\.\d+(?:\.post\d+)?)/,
    purpose: 'the proxy Aider talks to',
  },
  'aider-chat': {
    package: 'aider-chat',
    version: '0.86.2',
    extras: () => [],
    bin: 'aider',
    links: ['aider'],
    versionCommand: ['aider', '--version'],
    versionPattern: /(\d+\.\d+\.\d+)/,
    python: '3.12',
    purpose: 'Aider itself',
  },
} satisfies Record<string, ToolSpec>;

export type ToolName = keyof typeof TOOLS;
export const TOOL_NAMES = Object.keys(TOOLS) as ToolName[];

/** `mlx_lm`, `mlx`, `aider`… → the distribution name. */
export function toolByName(name: string): ToolName | undefined {
  const n = name.toLowerCase().replace(/_/g, '-');
  if (n in TOOLS) return n as ToolName;
  if (n === 'mlx' || n === 'mlx-lm-server' || n === 'mlx-lm.server') return 'mlx-lm';
  if (n === 'aider') return 'aider-chat';
  return undefined;
}

export function requirementFor(spec: Pick<ToolSpec, 'package' | 'version' | 'extras'>, platform: NodeJS.Platform): string {
  const extras = spec.extras(platform);
  return `${spec.package}${extras.length ? `[${extras.join(',')}]` : ''}==${spec.version}`;
}
