// The lab builds the guide's topology and always tears it down: on destroy(), on exit, on SIGINT/SIGTERM,
// and, after a SIGKILL, at the next run's start.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Lab } from '../../src/lab/lab.js';
import { namespacesOf } from '../../src/lab/topology.js';
import { eventually, NEEDS_ROOT } from './helpers.js';

const LAB_MODULE = pathToFileURL(new URL('../../src/lab/lab.js', import.meta.url).pathname).href;

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

function rootLinks(): string {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
}

/** A separate node process that builds a lab, prints its prefix, then waits (or exits at once). */
async function labInChild(
  mode: 'wait' | 'exit',
): Promise<{ child: ReturnType<typeof spawn>; prefix: string }> {
  const code = `
    const { Lab } = await import(${JSON.stringify(LAB_MODULE)});
    const lab = await Lab.create({ twoNic: true });
    process.stdout.write(lab.prefix + '\\n');
    if (${JSON.stringify(mode)} === 'exit') process.exit(0);
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [prefix] = (await once(lines, 'line')) as [string];
  return { child, prefix };
}

function ownedBy(prefix: string): string[] {
  return namespaces().filter((n) => n.startsWith(`${prefix}-`));
}

describe('lab lifecycle', { skip: NEEDS_ROOT }, () => {
  const seenPrefixes: string[] = [];
  after(() => {
    // Nothing of any run of this file is left: no namespace, no interface in the host's own namespace.
    const left = namespaces().filter((n) => seenPrefixes.some((p) => n.startsWith(`${p}-`)));
    assert.deepEqual(left, []);
    assert.equal(
      namespaces().filter((n) => n.startsWith(`sipha-${process.pid}-`)).length,
      0,
      'no namespace of this process',
    );
    assert.doesNotMatch(rootLinks(), /\b(br-sip|br-mgmt|[abcg]-sip|[abcg]-mgmt)\b/);
  });

  it('builds the two-NIC topology with working subnets, cuts and restores links, and destroys it', async () => {
    const lab = await Lab.create({ twoNic: true, ipv6: true });
    seenPrefixes.push(lab.prefix);
    try {
      assert.match(lab.prefix, new RegExp(`^sipha-${process.pid}-[0-9a-f]{6}$`));
      assert.deepEqual(ownedBy(lab.prefix).sort(), namespacesOf(lab.topology).sort());
      assert.equal(lab.hosts.a.sip.ipv4, '198.51.100.11');
      assert.equal(lab.hosts.b.mgmt?.ipv4, '203.0.113.12');
      assert.equal(lab.hosts.c.mgmt, undefined, 'the client is on the SIP subnet only');
      const ping = async (from: 'a' | 'b' | 'c' | 'g', ip: string) =>
        (await lab.exec(from, ['ping', '-n', '-c', '1', '-W', '1', ip], { allowFailure: true })).exitCode ===
        0;
      assert.equal(await ping('c', '198.51.100.11'), true);
      assert.equal(await ping('c', '2001:db8:51::12'), true);
      assert.equal(await ping('a', '203.0.113.12'), true);
      assert.equal(await ping('a', '2001:db8:113::1'), true);
      assert.equal(await ping('c', '203.0.113.11'), false, 'C has no route to the management subnet');
      const mac = (await lab.exec('a', ['cat', '/sys/class/net/eth0/address'])).stdout.trim();
      assert.equal(mac, lab.mac('a'));
      const sysctl = await lab.exec('b', [
        'sysctl',
        '-n',
        'net.ipv4.ip_nonlocal_bind',
        'net.ipv6.ip_nonlocal_bind',
      ]);
      assert.deepEqual(sysctl.stdout.trim().split('\n'), ['1', '1']);

      // Pull A's SIP cable: A sees no carrier, C loses A, the management path A-B stays up.
      await lab.linkDown('a', 'sip');
      const carrier = async () => (await lab.exec('a', ['cat', '/sys/class/net/eth0/carrier'])).stdout.trim();
      assert.ok(await eventually(async () => (await carrier()) === '0'));
      assert.equal(await ping('c', '198.51.100.11'), false);
      assert.equal(await ping('a', '203.0.113.12'), true);
      await lab.linkUp('a', 'sip');
      assert.ok(await eventually(async () => (await carrier()) === '1'));
      assert.equal(await ping('c', '198.51.100.11'), true);

      const sleeper = lab.spawn('g', ['sleep', '300']);
      const exited = once(sleeper, 'exit');
      await lab.destroy();
      await exited;
      assert.notEqual(sleeper.exitCode ?? sleeper.signalCode, null, 'spawned process killed at destroy');
    } finally {
      await lab.destroy();
    }
    assert.deepEqual(ownedBy(lab.prefix), []);
    await lab.destroy(); // twice is fine
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`removes everything when the process gets ${signal}`, async () => {
      const { child, prefix } = await labInChild('wait');
      seenPrefixes.push(prefix);
      assert.equal(ownedBy(prefix).length, 5, 'a, b, c, g and the switch');
      const exit = once(child, 'exit');
      child.kill(signal);
      const [code, sig] = (await exit) as [number | null, NodeJS.Signals | null];
      assert.equal(sig, signal, `died of ${signal} (code ${code})`);
      assert.deepEqual(ownedBy(prefix), []);
    });
  }

  it('removes everything when the process exits without destroy()', async () => {
    const { child, prefix } = await labInChild('exit');
    seenPrefixes.push(prefix);
    await once(child, 'exit');
    assert.deepEqual(ownedBy(prefix), []);
  });

  it('removes the leftovers of a SIGKILLed run at the next start', async () => {
    const { child, prefix } = await labInChild('wait');
    seenPrefixes.push(prefix);
    const exit = once(child, 'exit');
    child.kill('SIGKILL');
    await exit;
    assert.equal(ownedBy(prefix).length, 5, 'SIGKILL leaves the lab behind');
    const removed = await Lab.cleanupStale();
    // Another process's Lab.create() may have swept them first; either way only lab namespaces go.
    assert.ok(removed.every((n) => /^sipha-(\d+|up)-[0-9a-f]+-(a|b|c|g|sw)$/.test(n)));
    assert.deepEqual(ownedBy(prefix), []);
  });
});
