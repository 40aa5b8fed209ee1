/**
 * Every command's flags, parsed by node:util parseArgs, but with our own messages: an unknown
 * option names the command and the nearest real one, a value that starts with "-" (--editor-port
 * -1) reaches our own validation instead of Node's "To specify an option argument starting with a
 * dash…", and a missing value says which flag needs one.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { closestFlags } from './suggest.js';

export type FlagOptions = NonNullable<ParseArgsConfig['options']>;

export interface FlagsSpec {
  /** `restore`, `setup`…: named in the messages. */
  command: string;
  /** What to do next (usage line or "Run `aider-mlx --help`"). */
  usage: string;
  allowPositionals?: boolean;
}

export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** The known flag nearest to `given` (`--lsit` → `--list`), if one is close. */
export function nearestFlag(given: string, options: FlagOptions): string | undefined {
  const name = given.replace(/^-+/, '').split('=')[0]!.toLowerCase();
  if (!name) return undefined;
  return closestFlags(name, Object.keys(options));
}

function isKnownOption(arg: string, options: FlagOptions): boolean {
  if (arg.startsWith('--')) return Object.hasOwn(options, arg.slice(2).split('=')[0]!);
  return Object.values(options).some((o) => o.short !== undefined && arg === `-${o.short}`);
}

/**
 * `--flag VALUE` where VALUE starts with "-": written `--flag=VALUE` so that the flag's own check
 * judges it, unless VALUE is another of the flags (then the value was forgotten).
 */
function joinDashValues(args: string[], options: FlagOptions, spec: FlagsSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const opt = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    const next = args[i + 1];
    if (opt?.type === 'string' && next !== undefined && next.startsWith('-') && next !== '-') {
      if (isKnownOption(next, options)) throw new UsageError(`${a} needs a value (the next word, ${next}, is another option).`, spec.usage);
      out.push(`${a}=${next}`);
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

export function parseFlags(args: string[], options: FlagOptions, spec: FlagsSpec): ParsedFlags {
  const joined = joinDashValues(args, options, spec);
  try {
    const r = parseArgs({ args: joined, options, strict: true, allowPositionals: spec.allowPositionals ?? false });
    return { values: r.values as ParsedFlags['values'], positionals: r.positionals };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = err.message ?? String(e);
    const quoted = /'([^']*)'/.exec(msg)?.[1] ?? '';
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const near = nearestFlag(quoted, options);
      throw new UsageError(`Unknown option ${quoted} for \`aider-mlx ${spec.command}\`.`, near ? `Did you mean ${near}? ${spec.usage}` : spec.usage);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const flag = quoted.split(' ')[0]!;
      if (/does not take an argument/.test(msg)) throw new UsageError(`${flag} takes no value.`, spec.usage);
      throw new UsageError(`${flag} needs a value.`, spec.usage);
    }
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new UsageError(`Unexpected argument "${quoted}": \`aider-mlx ${spec.command}\` takes only options.`, spec.usage);
    }
    throw new UsageError(msg.split('\n')[0]!, spec.usage);
  }
}
