// From argv to what main does: print something (help, version, a usage error, the completion script) or run a
// command with its parsed arguments. Pure, so that every usage rule and exit code is tested without a process.
import {
  bashCompletion,
  type CommandSpec,
  EXIT_OK,
  EXIT_USAGE,
  helpText,
  mainUsage,
  type ParsedArgs,
  parseCommandArgs,
  usageErrorText,
  wantsHelp,
} from './args.js';

export type Action =
  | { kind: 'print'; stream: 'stdout' | 'stderr'; text: string; code: number }
  | { kind: 'run'; name: string; args: ParsedArgs };

const out = (text: string): Action => ({ kind: 'print', stream: 'stdout', text, code: EXIT_OK });
const usageError = (text: string): Action => ({ kind: 'print', stream: 'stderr', text, code: EXIT_USAGE });

export function dispatch(
  argv: readonly string[],
  specs: readonly CommandSpec[],
  version: () => string,
): Action {
  const [name, ...rest] = argv;
  // Bare `sipha` is a usage error: the list goes where errors go, so `sipha | less` of nothing fails loudly.
  if (name === undefined) return usageError(mainUsage(specs));
  if (name === '--version' || name === '-V') return out(`sipha ${version()}\n`);
  if (name === '--help' || name === '-h') return out(mainUsage(specs));
  if (name.startsWith('-')) return usageError(`sipha: unknown option '${name}'\nsee sipha help\n`);
  const spec = specs.find((s) => s.name === name);
  if (spec === undefined) return usageError(`sipha: unknown command '${name}'\nsee sipha help\n`);
  if (wantsHelp(rest)) return out(helpText(spec));
  const parsed = parseCommandArgs(spec, rest);
  if ('error' in parsed) return usageError(usageErrorText(name, parsed.error));
  switch (name) {
    case 'version':
      return out(`sipha ${version()}\n`);
    case 'help': {
      const topic = parsed.positionals[0];
      if (topic === undefined) return out(mainUsage(specs));
      const target = specs.find((s) => s.name === topic);
      return target === undefined
        ? usageError(usageErrorText('help', `unknown command '${topic}'`))
        : out(helpText(target));
    }
    case 'completion':
      return out(bashCompletion(specs));
    default:
      return { kind: 'run', name, args: parsed };
  }
}
