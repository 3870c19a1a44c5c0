// The architecture's own rules, checked on the source tree: imports between the folders of src/ point one way
// (`net` below all; `sip ← server ← {monitor, vip} ← ha ← {mgmt, workers} ← app/cli`, `lab` beside `app`), so there is
// no cycle between folders, and nothing imports the composition roots in src/app/ except the CLI.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const folderOf = (file: string) => relative(SRC, file).split('/')[0] as string;

/** Folder → folders it imports (relative imports only; type imports count too: they are dependencies). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const deps = graph.get(from) ?? new Set<string>();
    graph.set(from, deps);
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const to = folderOf(resolve(dirname(file), m[1] as string));
      if (to !== from) deps.add(to);
    }
  }
  return graph;
}

/** The first cycle found by depth-first search, as a path, or undefined. */
export function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const done = new Set<string>();
  const visit = (node: string, path: string[]): string[] | undefined => {
    const at = path.indexOf(node);
    if (at !== -1) return [...path.slice(at), node];
    if (done.has(node)) return undefined;
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next, [...path, node]);
      if (cycle !== undefined) return cycle;
    }
    done.add(node);
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node, []);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe('architecture', () => {
  it('the cycle finder finds a cycle (the checker is checked)', () => {
    const g = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
    ]);
    assert.deepEqual(findCycle(g), ['a', 'b', 'c', 'a']);
    assert.equal(findCycle(new Map([['a', new Set(['b'])]])), undefined);
  });

  it('no import cycle between the folders of src/', () => {
    const graph = folderGraph();
    assert.ok(graph.size >= 10, `expected the src/ folders, found ${[...graph.keys()]}`);
    assert.equal(findCycle(graph)?.join(' → '), undefined);
  });

  it('net and time are leaves; sip knows nothing of the application or HA', () => {
    const graph = folderGraph();
    assert.deepEqual([...(graph.get('net') ?? [])], []);
    assert.deepEqual([...(graph.get('sip') ?? [])].sort(), ['net', 'time']);
    assert.deepEqual([...(graph.get('time') ?? [])], []);
  });

  it('only the CLI imports the composition roots in src/app/, and only src/lab, src/app and src/cli import the lab', () => {
    for (const [from, deps] of folderGraph()) {
      if (deps.has('app')) assert.equal(from, 'cli', `${from} imports src/app`);
      if (deps.has('lab')) assert.ok(['app', 'cli'].includes(from), `${from} imports src/lab`);
    }
  });
});
