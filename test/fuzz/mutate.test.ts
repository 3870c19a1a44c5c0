// The fuzzer's mutator: deterministic for a seed, and each mutation kind does what its name says.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinCorpus, instantiate, loadCorpus } from '../../bench/fuzz/corpus.js';
import {
  fuzzCase,
  headerName,
  MUTATION_KINDS,
  type MutationKind,
  mutate,
  prng,
  split,
} from '../../bench/fuzz/mutate.js';
import { parseMessage } from '../../src/sip/parser.js';

const INVITE = instantiate(builtinCorpus()[0]!, 1);
const names = (text: string) =>
  split(text)
    .headers.map(headerName)
    .filter((n) => n !== undefined);
const count = (text: string, name: string) =>
  names(text).filter((n) => n.toLowerCase() === name.toLowerCase()).length;
const unfold = (text: string) => text.replace(/\r\n[ \t]+/g, ' ');
const parse = (text: string) => parseMessage(Buffer.from(text, 'latin1'));

/** Runs `kind` on the INVITE with seeds 1..n. */
function each(kind: MutationKind, n: number, check: (out: string, seed: number) => void): void {
  for (let seed = 1; seed <= n; seed++) check(mutate(INVITE, kind, prng(seed)), seed);
}

describe('fuzz mutator', () => {
  it('parses every corpus message as it is, so mutations start from valid input', () => {
    for (const [i, t] of loadCorpus().entries()) {
      const r = parse(instantiate(t, i));
      assert.ok(r.ok, `corpus[${i}]: ${r.ok ? '' : r.error.reason}`);
    }
  });

  it('gives the same cases for the same seed and other cases for another seed', () => {
    const corpus = builtinCorpus();
    const run = (seed: number) => {
      const rand = prng(seed);
      return Array.from({ length: 300 }, (_, n) => fuzzCase(corpus, rand, (t) => instantiate(t, n)));
    };
    const a = run(7);
    assert.deepEqual(run(7), a);
    assert.notDeepEqual(run(8), a);
    const kinds = new Set(a.flatMap((c) => c.kinds));
    assert.equal(kinds.size, MUTATION_KINDS.length, 'every kind shows up in 300 cases');
  });

  it('reorder-headers: the same lines, start line first, another order', () => {
    let reordered = 0;
    each('reorder-headers', 20, (out) => {
      const a = split(out);
      const b = split(INVITE);
      assert.equal(a.start, b.start);
      assert.deepEqual([...a.headers].sort(), [...b.headers].sort());
      assert.equal(a.body, b.body);
      if (a.headers.join() !== b.headers.join()) reordered++;
    });
    assert.ok(reordered >= 18);
  });

  it('fold-lines: continuation lines that unfold to the original, which still parses', () => {
    each('fold-lines', 20, (out) => {
      assert.match(out, /\r\n[ \t]+\S/);
      assert.equal(unfold(out).replace(/: +/g, ': '), unfold(INVITE).replace(/: +/g, ': '));
      assert.ok(parse(out).ok);
    });
  });

  it('letter-case: header names change case only', () => {
    each('letter-case', 20, (out) => {
      assert.notEqual(out, INVITE);
      assert.equal(out.toLowerCase(), INVITE.toLowerCase());
      const r = parse(out);
      assert.ok(r.ok && r.message.callId === 'fz1@fuzz');
    });
  });

  it('compact-forms: long names become compact ones (§7.3.3) and the message means the same', () => {
    each('compact-forms', 20, (out) => {
      const ns = names(out);
      assert.ok(ns.some((n) => n.length === 1));
      const r = parse(out);
      assert.ok(r.ok && r.message.callId === 'fz1@fuzz' && r.message.body.length === 142);
    });
  });

  it('random-bytes: same length, 1 to 8 bytes changed', () => {
    each('random-bytes', 30, (out) => {
      assert.equal(out.length, INVITE.length);
      let diff = 0;
      for (let i = 0; i < out.length; i++) if (out[i] !== INVITE[i]) diff++;
      assert.ok(diff <= 8);
    });
  });

  it('truncate: a proper prefix', () => {
    each('truncate', 20, (out) => {
      assert.ok(out.length < INVITE.length);
      assert.ok(INVITE.startsWith(out));
    });
  });

  it('huge-value: at least 1,000 more bytes in one header line', () => {
    each('huge-value', 20, (out) => {
      assert.ok(out.length >= INVITE.length + 1000);
      assert.ok(split(out).headers.some((l) => l.length > 1000));
      assert.equal(
        split(out).headers.length,
        split(INVITE).headers.length + (count(out, 'Subject') > 0 ? 1 : 0),
      );
    });
  });

  it('duplicate-mandatory / remove-mandatory: one mandatory header more, or all of one kind gone', () => {
    const mandatory = ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length'];
    each('duplicate-mandatory', 20, (out) => {
      assert.equal(split(out).headers.length, split(INVITE).headers.length + 1);
      assert.equal(mandatory.filter((n) => count(out, n) === count(INVITE, n) + 1).length, 1);
    });
    each('remove-mandatory', 20, (out) => {
      const gone = mandatory.filter((n) => count(out, n) === 0);
      assert.equal(gone.length, 1);
      assert.ok(!parse(out).ok || gone[0] === 'Content-Length' || gone[0] === 'Max-Forwards');
    });
  });

  it('bad-content-length: one Content-Length, not the body length', () => {
    each('bad-content-length', 40, (out) => {
      const values = split(out).headers.filter((l) => headerName(l) === 'Content-Length');
      assert.equal(values.length, 1);
      assert.notEqual(values[0]!.slice('Content-Length:'.length).trim(), '142');
    });
  });

  it('crlf-lf-mix: some line ends are a bare LF or CR', () => {
    each('crlf-lf-mix', 20, (out) => {
      assert.match(out, /[^\r]\n|\r[^\n]/);
      assert.ok(out.endsWith(split(INVITE).body));
    });
  });

  it('nul-bytes: 1 to 5 NULs inserted', () => {
    each('nul-bytes', 20, (out) => {
      const nuls = out.split('\0').length - 1;
      assert.ok(nuls >= 1 && nuls <= 5);
      assert.equal(out.replaceAll('\0', ''), INVITE);
    });
  });

  it('long-line: one line of at least 4,096 bytes', () => {
    each('long-line', 20, (out) => {
      assert.ok(out.split('\r\n').some((l) => l.length >= 4096));
    });
  });

  it('many-headers: at least 100 headers, which the parser refuses beyond 128', () => {
    let refused = 0;
    each('many-headers', 20, (out) => {
      const n = split(out).headers.length;
      assert.ok(n >= 100 + split(INVITE).headers.length);
      if (n > 128) {
        const r = parse(out);
        assert.ok(!r.ok);
        refused++;
      }
    });
    assert.ok(refused > 0);
  });

  it('makes each corpus entry concrete with its own branch and Call-ID, and a TCP Via for TCP', () => {
    const t = builtinCorpus()[2]!;
    assert.notEqual(instantiate(t, 1), instantiate(t, 2));
    assert.match(instantiate(t, 5, 'tcp'), /Via: SIP\/2\.0\/TCP 127\.0\.0\.1:9;branch=z9hG4bKf5;rport/);
  });
});
