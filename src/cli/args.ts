// The declarative side of the CLI: every command describes its options and arguments once, and the parser, the
// help text and the bash completion are generated from that one description. Pure: no I/O, no process state.
import { parseArgs } from 'node:util';

/** Exit codes, the same for every command (and written into every help text). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export const DEFAULT_CONFIG = '/etc/sipha/sipha.yaml';

export interface OptionSpec {
  /** The long name, without dashes. */
  name: string;
  /** One letter, without the dash. */
  short?: string;
  /** The placeholder shown when the option takes a value (FILE, URL, N); absent for a flag. */
  value?: string;
  /** May be given more than once (the values are collected in order). */
  multiple?: boolean;
  description: string;
}

export interface ArgSpec {
  /** The placeholder in the synopsis (ACTION, PREFIX, CMD). */
  name: string;
  /** The accepted words, when it is one of a fixed set (offered by the completion too). */
  choices?: readonly string[];
  optional?: boolean;
  description: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  options: readonly OptionSpec[];
  args?: readonly ArgSpec[];
  /** Synopsis lines after "sipha NAME" when the generated one is not enough (a command with sub-actions). */
  synopsis?: readonly string[];
  /** Extra exit codes beyond 0/1/2, or a sharper meaning of them, one line each. */
  exitCodes?: ReadonlyArray<readonly [number, string]>;
}

export type OptionValue = string | boolean | string[];

export interface ParsedArgs {
  values: Record<string, OptionValue | undefined>;
  positionals: string[];
}

/** A usage problem found after parsing (a wrong combination, a bad number): main prints it as any usage error. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', description: 'show this help and exit' };

export const CONFIG_OPTION: OptionSpec = {
  name: 'config',
  short: 'c',
  value: 'FILE',
  description: `the config file (default: $SIPHA_CONFIG, else ${DEFAULT_CONFIG})`,
};

export const JSON_OPTION: OptionSpec = {
  name: 'json',
  description: 'print the raw JSON answer instead of text',
};

export const URL_OPTION: OptionSpec = {
  name: 'url',
  value: 'URL',
  description: "the node's management API (http://HOST:PORT) instead of the config's management.listen",
};

/** The options a command accepts: its own plus --help, which every command has. */
export function allOptions(spec: CommandSpec): OptionSpec[] {
  return [...spec.options, HELP_OPTION];
}

/** The parseArgs options config derived from the spec (kept for callers that want node:util directly). */
export function parseArgsOptions(
  spec: CommandSpec,
): Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of allOptions(spec)) {
    out[o.name] = {
      type: o.value === undefined ? 'boolean' : 'string',
      ...(o.short === undefined ? {} : { short: o.short }),
      ...(o.multiple === true ? { multiple: true } : {}),
    };
  }
  return out;
}

/** True when the arguments ask for help (before any `--`), whatever else is wrong with them. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * Parses `args` against the spec. Node's parseArgs runs non-strict and only tokenizes; the checks are ours, so
 * that every problem is one short sentence naming the option as the user typed it (not Node's error text).
 */
export function parseCommandArgs(spec: CommandSpec, args: readonly string[]): ParsedArgs | { error: string } {
  const options = allOptions(spec);
  const { tokens } = parseArgs({
    args: [...args],
    options: parseArgsOptions(spec),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, OptionValue | undefined> = {};
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    const o = options.find(
      (x) => x.name === t.name && (t.rawName === `--${x.name}` || t.rawName === `-${x.short ?? ''}`),
    );
    if (o === undefined) return { error: `unknown option '${t.rawName}'` };
    if (o.value === undefined) {
      if (t.inlineValue === true) return { error: `option '${t.rawName}' takes no value` };
      values[o.name] = true;
      continue;
    }
    // "--config --json": the next word is an option, not the missing value (Node's strict mode agrees).
    if (t.value === undefined || (t.inlineValue !== true && t.value.startsWith('-') && t.value !== '-'))
      return { error: `option '${t.rawName}' needs a value (${o.value})` };
    if (o.multiple === true) {
      const prev = values[o.name];
      values[o.name] = [...(Array.isArray(prev) ? prev : []), t.value];
    } else if (values[o.name] !== undefined) {
      return { error: `option '${t.rawName}' given twice` };
    } else {
      values[o.name] = t.value;
    }
  }
  const specs = spec.args ?? [];
  if (values.help !== true) {
    for (const [i, a] of specs.entries()) {
      const v = positionals[i];
      if (v === undefined) {
        if (a.optional !== true)
          return {
            error: `missing ${a.name}${a.choices === undefined ? '' : ` (${a.choices.join(', ')})`}`,
          };
        break;
      }
      if (a.choices !== undefined && !a.choices.includes(v))
        return { error: `unknown ${a.name.toLowerCase()} '${v}' (expected ${a.choices.join(', ')})` };
    }
    if (positionals.length > specs.length)
      return { error: `unexpected argument '${positionals[specs.length]}'` };
  }
  return { values, positionals };
}

/** The two lines of a usage error: the problem, and where the help is. */
export function usageErrorText(command: string, problem: string): string {
  return `sipha ${command}: ${problem}\nsee sipha help ${command}\n`;
}

/** `-c, --config FILE`: the option as the help shows it. */
export function optionLabel(o: OptionSpec): string {
  const long = `--${o.name}${o.value === undefined ? '' : ` ${o.value}`}`;
  return o.short === undefined ? `    ${long}` : `-${o.short}, ${long}`;
}

const EXIT_LINES: ReadonlyArray<readonly [number, string]> = [
  [EXIT_OK, 'ok'],
  [EXIT_FAILURE, 'runtime failure (a node unreachable, a command that failed)'],
  [EXIT_USAGE, 'usage or config error'],
];

/** The command's help: synopsis, summary, every option and argument on one line each, the exit codes. */
export function helpText(spec: CommandSpec): string {
  const options = allOptions(spec);
  const args = spec.args ?? [];
  const generated = [
    `[options]${args.map((a) => (a.optional === true ? ` [${a.name}]` : ` ${a.name}`)).join('')}`,
  ];
  const synopsis = (spec.synopsis ?? generated).map(
    (s, i) => `${i === 0 ? 'usage:' : '      '} sipha ${spec.name} ${s}`,
  );
  const rows: Array<[string, string]> = [
    ...args.map((a): [string, string] => [
      `  ${a.name}`,
      `${a.description}${a.choices === undefined ? '' : ` (${a.choices.join(', ')})`}`,
    ]),
  ];
  const optRows = options.map((o): [string, string] => [
    `  ${optionLabel(o)}`,
    `${o.description}${o.multiple === true ? ' (may be repeated)' : ''}`,
  ]);
  const width = Math.max(...[...rows, ...optRows].map(([l]) => l.length)) + 2;
  const fmt = (r: [string, string]) => `${r[0].padEnd(width)}${r[1]}`;
  const exits = new Map<number, string>(EXIT_LINES);
  for (const [code, text] of spec.exitCodes ?? []) exits.set(code, text);
  const lines = [...synopsis, '', spec.summary, ''];
  if (rows.length > 0) lines.push('arguments:', ...rows.map(fmt), '');
  lines.push('options:', ...optRows.map(fmt), '', 'exit codes:');
  for (const [code, text] of [...exits].sort((a, b) => a[0] - b[0])) lines.push(`  ${code}  ${text}`);
  return `${lines.join('\n')}\n`;
}

/** The top-level usage: every command with its summary. */
export function mainUsage(specs: readonly CommandSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length)) + 2;
  return [
    'usage: sipha <command> [options]',
    '       sipha help <command>      the command and all its options',
    '       sipha --version',
    '',
    'commands:',
    ...specs.map((s) => `  ${s.name.padEnd(width)}${s.summary}`),
    '',
    'exit codes: 0 ok, 1 runtime failure, 2 usage or config error (see each command for more)',
    '',
  ].join('\n');
}

/** The config file: --config, else $SIPHA_CONFIG, else the packaged default. */
export function configPath(values: ParsedArgs['values'], env: NodeJS.ProcessEnv = process.env): string {
  const v = values.config;
  if (typeof v === 'string') return v;
  const e = env.SIPHA_CONFIG;
  return e !== undefined && e !== '' ? e : DEFAULT_CONFIG;
}

export function flag(values: ParsedArgs['values'], name: string): boolean {
  return values[name] === true;
}

export function stringValue(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function listValue(values: ParsedArgs['values'], name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** A non-negative integer option, or a UsageError naming it. */
export function intValue(values: ParsedArgs['values'], name: string): number | undefined {
  const v = stringValue(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} needs a whole number, not '${v}'`);
  return Number(v);
}

function bashWords(words: readonly string[]): string {
  return words.join(' ');
}

/** `sipha completion bash`: commands, then each command's options and argument words, from the same specs. */
export function bashCompletion(specs: readonly CommandSpec[]): string {
  const fileOpts = new Set<string>();
  const valueOpts = new Set<string>();
  for (const s of specs)
    for (const o of allOptions(s)) {
      if (o.value === undefined) continue;
      const forms = [`--${o.name}`, ...(o.short === undefined ? [] : [`-${o.short}`])];
      for (const f of forms) (o.value === 'FILE' ? fileOpts : valueOpts).add(f);
    }
  const cases = specs.map((s) => {
    const words = [
      ...allOptions(s).flatMap((o) => [`--${o.name}`, ...(o.short === undefined ? [] : [`-${o.short}`])]),
      ...(s.args ?? []).flatMap((a) => a.choices ?? []),
      ...(s.name === 'help' ? specs.map((x) => x.name) : []),
    ];
    return `    ${s.name}) words="${bashWords(words)}" ;;`;
  });
  return [
    '# bash completion for sipha; install with: sipha completion bash > /etc/bash_completion.d/sipha',
    '_sipha() {',
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" words=""`,
    '  if [[ $COMP_CWORD -eq 1 ]]; then',
    `    COMPREPLY=($(compgen -W "${bashWords(specs.map((s) => s.name))} --version --help" -- "$cur"))`,
    '    return',
    '  fi',
    '  case "$prev" in',
    ...(fileOpts.size > 0
      ? [`    ${[...fileOpts].join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`]
      : []),
    ...(valueOpts.size > 0 ? [`    ${[...valueOpts].join('|')}) COMPREPLY=(); return ;;`] : []),
    '  esac',
    `  case "\${COMP_WORDS[1]}" in`,
    ...cases,
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    'complete -F _sipha sipha',
    '',
  ].join('\n');
}
