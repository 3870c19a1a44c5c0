// The CLI's rules as pure functions: option parsing and its error lines, help texts generated from the specs,
// dispatch (help, version, usage errors and their exit codes), the status health check, the switchover's time to
// service, the list tables, the lab ownership rule and the version lookup. No process, no network, no root.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  bashCompletion,
  configPath,
  DEFAULT_CONFIG,
  helpText,
  intValue,
  mainUsage,
  type ParsedArgs,
  parseArgsOptions,
  parseCommandArgs,
  UsageError,
  wantsHelp,
} from '../../src/cli/args.js';
import { allSpecs, builtins, commands } from '../../src/cli/commands.js';
import { type Action, dispatch } from '../../src/cli/dispatch.js';
import { callerUid, labsToRemove } from '../../src/cli/lab-owners.js';
import { callRows, countLine, registrationRows } from '../../src/cli/list-commands.js';
import { degradedReasons } from '../../src/cli/status-health.js';
import { serviceText } from '../../src/cli/switchover-command.js';
import { packageVersion } from '../../src/cli/version.js';
import type { Timeline } from '../../src/ha/status.js';
import type { ManagementStatus } from '../../src/mgmt/hub.js';
import { fakeStatus } from '../mgmt/fake-node.js';

const spec = (name: string) => {
  const s = allSpecs.find((x) => x.name === name);
  assert.ok(s, name);
  return s;
};

function parsed(name: string, args: string[]): ParsedArgs {
  const r = parseCommandArgs(spec(name), args);
  assert.ok(!('error' in r), JSON.stringify(r));
  return r;
}

function problem(name: string, args: string[]): string {
  const r = parseCommandArgs(spec(name), args);
  assert.ok('error' in r, `expected a usage error for ${args.join(' ')}`);
  return r.error;
}

const run = (argv: string[]): Action => dispatch(argv, allSpecs, () => '9.8.7');

describe('option parsing', () => {
  it('accepts -c FILE, --config FILE and --config=FILE', () => {
    for (const args of [['-c', 'x.yaml'], ['--config', 'x.yaml'], ['--config=x.yaml']])
      assert.equal(parsed('status', args).values.config, 'x.yaml', args.join(' '));
  });

  it('every command that reads a config takes -c and --config', () => {
    for (const name of ['start', 'status', 'switchover', 'events', 'registrations', 'calls', 'vip']) {
      const c = spec(name).options.find((o) => o.name === 'config');
      assert.equal(c?.short, 'c', name);
      assert.equal(c?.value, 'FILE', name);
    }
  });

  it('the config defaults to $SIPHA_CONFIG, then the packaged path', () => {
    assert.equal(configPath({ config: 'a.yaml' }, { SIPHA_CONFIG: 'b.yaml' }), 'a.yaml');
    assert.equal(configPath({}, { SIPHA_CONFIG: 'b.yaml' }), 'b.yaml');
    assert.equal(configPath({}, { SIPHA_CONFIG: '' }), DEFAULT_CONFIG);
    assert.equal(configPath({}, {}), '/etc/sipha/sipha.yaml');
  });

  it('flags, repeated options and positionals', () => {
    const s = parsed('status', ['--json', '--url', 'http://a:1', '--url=http://b:2']);
    assert.equal(s.values.json, true);
    assert.deepEqual(s.values.url, ['http://a:1', 'http://b:2']);
    const v = parsed('vip', ['status', '-c', 'f']);
    assert.deepEqual(v.positionals, ['status']);
    assert.equal(parsed('events', ['-f']).values.follow, true);
    assert.deepEqual(parsed('lab', ['down', 'sipha-up-abc']).positionals, ['down', 'sipha-up-abc']);
  });

  it('one short sentence per problem, naming the option as typed, no Node internals', () => {
    assert.equal(problem('start', ['--bogus']), "unknown option '--bogus'");
    assert.equal(problem('start', ['-z']), "unknown option '-z'");
    assert.equal(problem('start', ['--config']), "option '--config' needs a value (FILE)");
    assert.equal(problem('start', ['-c']), "option '-c' needs a value (FILE)");
    assert.equal(problem('status', ['--config', '--json']), "option '--config' needs a value (FILE)");
    assert.equal(problem('status', ['--json=yes']), "option '--json' takes no value");
    assert.equal(problem('start', ['-c', 'a', '-c', 'b']), "option '-c' given twice");
    assert.equal(problem('start', ['extra']), "unexpected argument 'extra'");
    assert.equal(problem('vip', []), 'missing ACTION (status, release)');
    assert.equal(problem('vip', ['flip']), "unknown action 'flip' (expected status, release)");
    assert.equal(problem('completion', ['zsh']), "unknown shell 'zsh' (expected bash)");
    for (const args of [['--bogus'], ['--config'], ['--json=1']]) {
      const p = problem('status', args);
      assert.doesNotMatch(p, /ERR_PARSE_ARGS|positional argument|To specify/);
      assert.ok(!p.includes('\n'), p);
    }
  });

  it('--help wins over anything else, but not after --', () => {
    assert.equal(wantsHelp(['--bogus', '--help']), true);
    assert.equal(wantsHelp(['-h']), true);
    assert.equal(wantsHelp(['--', '--help']), false);
  });

  it('whole-number options', () => {
    assert.equal(intValue({ limit: '10' }, 'limit'), 10);
    assert.equal(intValue({}, 'limit'), undefined);
    assert.throws(() => intValue({ limit: 'ten' }, 'limit'), UsageError);
  });

  it('the parseArgs config comes from the same list', () => {
    assert.deepEqual(parseArgsOptions(spec('events')), {
      config: { type: 'string', short: 'c' },
      url: { type: 'string' },
      json: { type: 'boolean' },
      follow: { type: 'boolean', short: 'f' },
      since: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
  });
});

describe('help texts', () => {
  it('every command describes every option on one line, and the exit codes', () => {
    for (const s of allSpecs) {
      const text = helpText(s);
      assert.match(text, new RegExp(`^usage: sipha ${s.name} `, 'm'), s.name);
      for (const o of [...s.options, { name: 'help', short: 'h', description: 'show this help and exit' }]) {
        const line = text.split('\n').find((l) => l.includes(`--${o.name}`) && l.includes(o.description));
        assert.ok(line, `${s.name}: --${o.name} described\n${text}`);
        if (o.short !== undefined) assert.ok(line.includes(`-${o.short}, --${o.name}`), line);
      }
      assert.match(text, /^exit codes:\n {2}0 {2}.+\n {2}1 {2}.+\n {2}2 {2}/m, s.name);
    }
  });

  it('status and vip status document their health-check exit codes', () => {
    assert.match(helpText(spec('status')), /^ {2}1 {2}degraded/m);
    assert.match(helpText(spec('vip')), /^ {2}3 {2}status: the VIP is not held on this host$/m);
  });

  it('the main usage lists every command', () => {
    const u = mainUsage(allSpecs);
    for (const s of allSpecs) assert.match(u, new RegExp(`^ {2}${s.name} +\\S`, 'm'));
  });
});

describe('dispatch', () => {
  it('version three ways, exit 0', () => {
    for (const argv of [['--version'], ['-V'], ['version']])
      assert.deepEqual(run(argv), { kind: 'print', stream: 'stdout', text: 'sipha 9.8.7\n', code: 0 });
  });

  it('bare sipha: the usage on stderr, exit 2', () => {
    const a = run([]);
    assert.equal(a.kind === 'print' && a.stream, 'stderr');
    assert.equal(a.kind === 'print' && a.code, 2);
  });

  it('help: the list, or one command, on stdout, exit 0', () => {
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const a = run(argv);
      assert.ok(a.kind === 'print' && a.stream === 'stdout' && a.code === 0);
      assert.match(a.text, /^commands:$/m);
    }
    for (const argv of [
      ['help', 'start'],
      ['start', '--help'],
      ['start', '-h'],
      ['start', '--bogus', '-h'],
    ]) {
      const a = run(argv);
      assert.ok(a.kind === 'print' && a.stream === 'stdout' && a.code === 0, argv.join(' '));
      assert.match(a.text, /^usage: sipha start /);
      assert.match(a.text, /-c, --config FILE +the config file/);
    }
  });

  it('usage errors: the problem and where the help is, on stderr, exit 2', () => {
    assert.deepEqual(run(['start', '--bogus']), {
      kind: 'print',
      stream: 'stderr',
      text: "sipha start: unknown option '--bogus'\nsee sipha help start\n",
      code: 2,
    });
    for (const argv of [['nope'], ['--nope'], ['help', 'nope'], ['completion'], ['vip', 'flip']]) {
      const a = run(argv);
      assert.ok(a.kind === 'print' && a.stream === 'stderr' && a.code === 2, argv.join(' '));
    }
  });

  it('a command runs with its parsed arguments', () => {
    const a = run(['status', '-c', 's.yaml', '--json']);
    assert.equal(a.kind, 'run');
    assert.ok(a.kind === 'run');
    assert.equal(a.name, 'status');
    assert.equal(a.args.values.config, 's.yaml');
  });

  it('completion bash: every command and its options, from the same specs', () => {
    const a = run(['completion', 'bash']);
    assert.ok(a.kind === 'print' && a.code === 0);
    assert.equal(a.text, bashCompletion(allSpecs));
    assert.match(a.text, /complete -F _sipha sipha/);
    for (const c of commands) {
      assert.ok(a.text.includes(c.spec.name), c.spec.name);
      const line = a.text.split('\n').find((l) => l.trimStart().startsWith(`${c.spec.name})`));
      for (const o of c.spec.options) assert.ok(line?.includes(`--${o.name}`), `${c.spec.name} --${o.name}`);
    }
    for (const b of builtins) assert.ok(a.text.includes(b.name));
    assert.match(a.text, /vip\) words="[^"]*\bstatus release\b/);
    assert.match(a.text, /--config\|-c\) COMPREPLY=\(\$\(compgen -f/);
  });
});

function node(id: string, role: 'primary' | 'backup', peer: string): ManagementStatus {
  return { ...fakeStatus(id, role, 3, peer), sip: null, cti: { stream: 'x', lastSeq: 0 } };
}

describe('sipha status health check', () => {
  const url = 'http://a:8080';
  it('a healthy pair: no reasons (exit 0)', () => {
    assert.deepEqual(degradedReasons([{ url, status: node('a', 'primary', 'b'), error: null }]), []);
    assert.deepEqual(
      degradedReasons([
        { url, status: node('a', 'primary', 'b'), error: null },
        { url: 'http://b:8080', status: node('b', 'backup', 'a'), error: null },
      ]),
      [],
    );
  });

  it('peer not alive, a node unreachable, not synced, no report, a critical alarm: degraded (exit 1)', () => {
    const dead = node('a', 'primary', 'b');
    dead.peer = { ...dead.peer, status: 'dead' };
    assert.deepEqual(degradedReasons([{ url, status: dead, error: null }]), ['a: peer b is dead']);
    assert.deepEqual(
      degradedReasons([
        { url, status: node('a', 'primary', 'b'), error: null },
        { url: 'http://b:8080', status: null, error: 'connect ECONNREFUSED' },
      ]),
      ['http://b:8080: unreachable (connect ECONNREFUSED)'],
    );
    const lag = node('a', 'primary', 'b');
    lag.replication = lag.replication === null ? null : { ...lag.replication, synced: false };
    assert.deepEqual(degradedReasons([{ url, status: lag, error: null }]), ['a: replication not synced']);
    const none = node('a', 'primary', 'b');
    none.replication = null;
    assert.deepEqual(degradedReasons([{ url, status: none, error: null }]), ['a: no replication report']);
    const alarmed = node('a', 'primary', 'b');
    alarmed.activeAlarms = [
      { at: 1, alarm: 'split-brain', detail: 'both hold the VIP', severity: 'critical', state: 'raised' },
      { at: 1, alarm: 'slow', detail: 'lag', severity: 'warning', state: 'raised' },
    ];
    assert.deepEqual(degradedReasons([{ url, status: alarmed, error: null }]), [
      'a: critical alarm split-brain: both hold the VIP',
    ]);
  });
});

function timeline(t: Partial<Timeline>): Timeline {
  return {
    seq: 1,
    node: 'b',
    kind: 'promote',
    cause: 'switchover',
    oldTerm: 6,
    newTerm: 7,
    detectedAt: 1000,
    vipRemovedAt: 990,
    vipAddedAt: 1020,
    announcedAt: 1025,
    firstServedAt: 1093,
    durationMs: 93,
    synced: true,
    done: true,
    ...t,
  };
}

describe('sipha switchover: time to service', () => {
  it('from the promotion timeline', () => {
    assert.equal(serviceText({ term: 7, timeline: timeline({}) }), 'service back after 93 ms');
    assert.equal(
      serviceText({ term: 7, timeline: timeline({ firstServedAt: 1050, durationMs: null, done: false }) }),
      'service back after 50 ms',
    );
    assert.equal(
      serviceText({ term: 7, timeline: timeline({ firstServedAt: null, durationMs: null, done: false }) }),
      'VIP up after 20 ms (no request served yet; time to service not known)',
    );
  });

  it('absent, stale, or the old primary’s demotion: says so', () => {
    assert.equal(serviceText({ term: 7 }), 'time to service not in the reply');
    assert.equal(serviceText({ term: 8, timeline: timeline({}) }), 'time to service not in the reply');
    assert.match(
      serviceText({
        term: 7,
        timeline: timeline({ node: 'a', kind: 'demote', vipRemovedAt: 1012, durationMs: 12 }),
      }),
      /^time to service not in the reply \(a released the VIP after 12 ms\)/,
    );
  });
});

describe('sipha registrations and calls tables', () => {
  it('registrations', () => {
    const rows = registrationRows([
      { aor: 'sip:alice@x', contact: 'sip:alice@10.0.0.5:5060', q: 1, expiresInS: 300, received: null },
    ]);
    assert.deepEqual(rows, [
      ['AOR', 'CONTACT', 'Q', 'EXPIRES', 'RECEIVED'],
      ['sip:alice@x', 'sip:alice@10.0.0.5:5060', '1', '300s', '—'],
    ]);
    assert.equal(countLine(1, 1, 'registrations'), '1 registration\n');
    assert.equal(countLine(0, 0, 'calls'), '0 calls\n');
    assert.equal(countLine(2, 5, 'calls'), '2 of 5 calls (raise --limit for more)\n');
  });

  it('calls', () => {
    const rows = callRows(
      [
        {
          id: 'c;f;t',
          callId: 'c',
          caller: 'sip:alice@x',
          callee: 'sip:bob@x',
          state: 'confirmed',
          createdAt: 0,
          confirmedAt: 1000,
          endedAt: null,
          endReason: null,
        },
      ],
      125_000,
    );
    assert.deepEqual(rows[1], ['sip:alice@x', 'sip:bob@x', 'confirmed', '2m5s', 'c']);
  });
});

describe('sipha lab down: only your own labs', () => {
  const labs = [
    { prefix: 'sipha-up-aa', uid: 1000 },
    { prefix: 'sipha-up-bb', uid: 1001 },
    { prefix: 'sipha-up-cc', uid: undefined },
  ];
  it('without a name: those recorded with this uid', () => {
    assert.deepEqual(labsToRemove(labs, undefined, 1000), {
      remove: ['sipha-up-aa'],
      kept: ['sipha-up-bb', 'sipha-up-cc'],
    });
    assert.deepEqual(labsToRemove(labs, undefined, 0).remove, []);
  });
  it('with a name: that one', () => {
    assert.deepEqual(labsToRemove(labs, 'sipha-up-bb', 1000), { remove: ['sipha-up-bb'], kept: [] });
    assert.deepEqual(labsToRemove(labs, 'sipha-up-zz', 1000).remove, []);
  });
  it('the uid is the person behind sudo', () => {
    assert.equal(callerUid(0, { SUDO_UID: '1000' }), 1000);
    assert.equal(callerUid(0, {}), 0);
    assert.equal(callerUid(1001, { SUDO_UID: '1000' }), 1001);
    assert.equal(callerUid(0, { SUDO_UID: 'x' }), 0);
  });
});

describe('sipha --version', () => {
  it('is package.json’s version, found from the module (checkout layout)', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(packageVersion(), pkg.version);
  });

  it('works in an installed package (package.json at the root next to dist/)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sipha-pkg-'));
    try {
      await mkdir(join(root, 'dist', 'src', 'cli'), { recursive: true });
      await writeFile(join(root, 'package.json'), '{"name":"sipha","version":"4.5.6"}');
      // Another package.json on the way up (a workspace) is not ours.
      await writeFile(join(root, 'dist', 'package.json'), '{"name":"other","version":"0.0.1"}');
      assert.equal(packageVersion(pathToFileURL(join(root, 'dist', 'src', 'cli', 'main.js'))), '4.5.6');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
