// Replaced at build time by tsup's define; falls back for tests run from source.
declare const __AIDER_MLX_VERSION__: string | undefined;
export const VERSION: string =
  typeof __AIDER_MLX_VERSION__ === 'string' ? __AIDER_MLX_VERSION__ : '0.0.0-dev';
