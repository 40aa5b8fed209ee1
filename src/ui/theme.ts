/** Semantic colour tokens. NO_COLOR (any value) turns every colour and dimming off. */
export interface Theme {
  color: boolean;
  accent?: string;
  ok?: string;
  warn?: string;
  error?: string;
  info?: string;
  /** The focused row. */
  selected?: string;
  /** Secondary text: hints, help, log tails. */
  dim: boolean;
  /** The DEMO label. */
  badge?: { color: string; backgroundColor: string };
}

export function themeFor(env: Record<string, string | undefined> = process.env): Theme {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return { color: false, dim: false };
  return {
    color: true,
    accent: 'cyan',
    ok: 'green',
    warn: 'yellow',
    error: 'red',
    info: 'blue',
    selected: 'cyan',
    dim: true,
    badge: { color: 'black', backgroundColor: 'yellow' },
  };
}
