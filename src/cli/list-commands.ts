// `sipha registrations` and `sipha calls`: what the SIP worker holds, from the management API
// (GET /api/v1/registrations, /api/v1/calls), as a plain table; --json prints the API's answer as it came.
import type { CallView, RegistrationView } from '../ha/worker-ipc.js';
import {
  type CommandSpec,
  EXIT_FAILURE,
  EXIT_OK,
  flag,
  intValue,
  type OptionSpec,
  type ParsedArgs,
} from './args.js';
import type { CliCommand } from './command.js';
import { httpProblem, MGMT_OPTIONS, mgmtTarget } from './mgmt-args.js';

const LIMIT: OptionSpec = {
  name: 'limit',
  short: 'n',
  value: 'N',
  description: 'list at most N (default 1000)',
};

const EXITS: CommandSpec['exitCodes'] = [
  [1, 'the node did not answer, refused the token, or its SIP worker was silent'],
];

type Row = [string, ...string[]];

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export function registrationRows(list: readonly RegistrationView[]): Row[] {
  return [
    ['AOR', 'CONTACT', 'Q', 'EXPIRES', 'RECEIVED'],
    ...list.map((r): Row => [r.aor, r.contact, String(r.q), `${r.expiresInS}s`, r.received ?? '—']),
  ];
}

export function callRows(list: readonly CallView[], now: number): Row[] {
  return [
    ['CALLER', 'CALLEE', 'STATE', 'AGE', 'CALL-ID'],
    ...list.map(
      (c): Row => [
        c.caller,
        c.callee,
        c.endReason === null ? c.state : `${c.state} (${c.endReason})`,
        age((c.endedAt ?? now) - c.createdAt),
        c.callId,
      ],
    ),
  ];
}

/** "1 registration", "3 calls", or "1000 of 1234 registrations (raise --limit for more)". */
export function countLine(shown: number, total: number, noun: string): string {
  const n = total === 1 ? noun.replace(/s$/, '') : noun;
  const more = shown < total ? ' (raise --limit for more)' : '';
  return `${shown === total ? `${total}` : `${shown} of ${total}`} ${n}${more}\n`;
}

function listCommand<K extends 'registrations' | 'calls'>(
  what: K,
  summary: string,
  rows: (list: never[]) => Row[],
): CliCommand {
  const spec: CommandSpec = { name: what, summary, options: [...MGMT_OPTIONS, LIMIT], exitCodes: EXITS };
  return {
    spec,
    async run({ values }: ParsedArgs): Promise<number> {
      const { callApi } = await import('../mgmt/client.js');
      const { formatTable } = await import('../mgmt/status-table.js');
      const limit = intValue(values, 'limit');
      const target = await mgmtTarget(values);
      const { status, body } = await callApi(
        target,
        'GET',
        `/api/v1/${what}${limit === undefined ? '' : `?limit=${limit}`}`,
        5000,
      );
      if (status !== 200) {
        process.stderr.write(`sipha ${what}: ${target.url}: ${httpProblem(status, body)}\n`);
        return EXIT_FAILURE;
      }
      if (flag(values, 'json')) {
        process.stdout.write(`${JSON.stringify(body)}\n`);
        return EXIT_OK;
      }
      const answer = body as { total?: number } & Partial<Record<K, never[]>>;
      const list = answer[what] ?? [];
      if (list.length > 0) process.stdout.write(formatTable(rows(list)));
      process.stdout.write(countLine(list.length, answer.total ?? list.length, what));
      return EXIT_OK;
    },
  };
}

export const registrationsCommand = listCommand(
  'registrations',
  'the registrations (bindings) the SIP worker holds, as a table',
  (l: RegistrationView[]) => registrationRows(l),
);

export const callsCommand = listCommand(
  'calls',
  'the calls (dialogs) the SIP worker holds, as a table',
  (l: CallView[]) => callRows(l, Date.now()),
);
