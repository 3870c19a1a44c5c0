// Deliberate breakage, for the chaos checker's self-test only (SIPHA_TEST_BREAK in a node's environment): a
// checker is only worth its silence if it speaks up against a node known to be broken (Pacemaker's CTS ran for
// years with its "resource active on two nodes" audit silently disabled). Never set it in production; a node
// that has it says so at warn level when it starts.
//   keep-vip          the node never removes the VIP (its driver's disable() does nothing): after a switchover
//                     two hosts answer for the VIP, which single-vip-owner must report
//   drop-replicated   a backup drops every binding change the replication stream brings after its snapshot:
//                     registrations made after the backup synced are lost in a takeover (registrations-kept)

import type { VipDriver } from '../vip/driver.js';
import type { WireChange } from './replication/messages.js';

export const TEST_BREAKS = ['keep-vip', 'drop-replicated'] as const;
export type TestBreak = (typeof TEST_BREAKS)[number];

/** The breakage asked for in `env`; undefined when none; throws on a name that is not one (a typo must not pass). */
export function testBreak(env: NodeJS.ProcessEnv = process.env): TestBreak | undefined {
  const v = env.SIPHA_TEST_BREAK;
  if (v === undefined || v === '') return undefined;
  if (!(TEST_BREAKS as readonly string[]).includes(v))
    throw new Error(`SIPHA_TEST_BREAK: ${v} is not one of ${TEST_BREAKS.join(', ')}`);
  return v as TestBreak;
}

/** keep-vip: the driver with a disable() that reports success and leaves the address where it is. */
export function keepingVip(vip: VipDriver): VipDriver {
  return new Proxy(vip, {
    get(target, prop, receiver) {
      if (prop === 'disable')
        return async () => ({ operation: 'disable' as const, changed: false, durationMs: 0 });
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** drop-replicated: which streamed changes a replica drops. */
export const dropsBindingChanges = (c: WireChange): boolean => c.k === 'b';
