import { join } from 'node:path';
import { configDir, homeDir, type Env } from '../lib/paths.js';

/** launchd labels (and plist file names) of every agent aider-mlx writes start with this. */
export const AGENT_PREFIX = 'com.aider-mlx.';

/**
 * Every place aider-mlx keeps files of its own, in one list: `uninstall` removes exactly these
 * (plus the Aider entries it wrote), `serve`, `service` and `install` write only here.
 */
export function ownedLocations(env: Env = process.env, platform: NodeJS.Platform = process.platform) {
  const home = homeDir(env);
  const data = join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'aider-mlx');
  return {
    /** plan, litellm.yaml, backups, the isolated Aider profile. */
    config: configDir(env),
    data,
    /** pip venvs aider-mlx made, one per tool (when neither uv nor pipx is there). */
    venvs: join(data, 'venvs'),
    /** Working folder of the processes serve/launchd start (LiteLLM writes next to its cwd). */
    run: join(data, 'run'),
    /** One JSON line per completion the proxy answered (templates/aider_mlx_usage.py): the prompt cache figures. */
    turns: join(data, 'turns.jsonl'),
    /** What `install` installed, and how: uninstall undoes exactly that. */
    installed: join(data, 'installed.json'),
    /** Server and proxy logs; ~/Library/Logs is where Console.app looks on macOS. */
    logs: platform === 'darwin' ? join(home, 'Library', 'Logs', 'aider-mlx') : join(data, 'logs'),
    launchAgents: join(home, 'Library', 'LaunchAgents'),
    /** V8's compiled code of dist/lean.cjs on Node 20 (bin/aider-mlx.js keeps it in v8/): only a cache. */
    cache: join(env.XDG_CACHE_HOME || join(home, '.cache'), 'aider-mlx'),
    /** Where uv, pipx and our venv links put console scripts. */
    localBin: env.XDG_BIN_HOME || join(home, '.local', 'bin'),
  };
}
export type OwnedLocations = ReturnType<typeof ownedLocations>;
