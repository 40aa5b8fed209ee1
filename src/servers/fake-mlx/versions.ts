/** Which mlx-lm version the stand-in imitates, and what changed between versions (SPEC §1.2, §1.4, §1.8). */
import { UsageError } from '../../errors.js';

export type Version = [number, number, number];

export function parseMlxVersion(v: string): Version {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
  if (!m) throw new UsageError(`"${v}" is not an mlx-lm version.`, 'Use a version like 0.32 or 0.31.1.');
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function atLeast(v: Version, min: string): boolean {
  const m = parseMlxVersion(min);
  for (let i = 0; i < 3; i++) if (v[i] !== m[i]) return v[i]! > m[i]!;
  return true;
}

export function featuresOf(v: Version) {
  return {
    getRoutes: atLeast(v, '0.18.2'),
    health: atLeast(v, '0.24.0'),
    modelsPrefix: atLeast(v, '0.26.1'),
    keepalive: atLeast(v, '0.26.4'),
    exactModelIsDefault: atLeast(v, '0.27.0'),
    reasoningField: atLeast(v, '0.30.1'),
    requestErrors: atLeast(v, '0.31.2'),
    loadErrorBody: atLeast(v, '0.31.2') ? 'json' : atLeast(v, '0.28.0') ? 'text' : 'plain',
  } as const;
}

export type Features = ReturnType<typeof featuresOf>;
