/**
 * A stand-in for `mlx_lm.server` (HEAD 0.32.x by default): same routes, statuses, headers and body
 * bytes, with a deterministic "model" and switchable faults. `--demo` ships it; tests reuse it.
 * Behaviour is read from ml-explore/mlx-lm `mlx_lm/server.py` (see SPEC §1).
 *
 * One module per part, under ./fake-mlx/: state (the shared object), faults, server (routing),
 * models (/v1/models), health (/health), completions (chat, text, streaming), not-found (the two
 * 404 kinds), hub (model names → loads or Hub errors), other (a different server on the port),
 * command (the hidden CLI).
 */
export { runFakeServerCommand } from './fake-mlx/command.js';
export { hfLoadErrorText } from './fake-mlx/hub.js';
export { pyJson } from './fake-mlx/python.js';
export { startFakeMlxServer } from './fake-mlx/server.js';
export type { FakeMlxFaults, FakeMlxServer, FakeMlxServerOptions, RecordedRequest } from './fake-mlx/state.js';
export { parseMlxVersion } from './fake-mlx/versions.js';
