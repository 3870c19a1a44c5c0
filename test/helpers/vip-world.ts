// An in-memory VIP shared by the "hosts" of a test pair, so that "at most one VIP holder" is checked at every step.
import type { VipDriver } from '../../src/vip/driver.js';

/** The shared VIP: which "hosts" hold it now, and the largest number of holders ever seen at once. */
export class World {
  holders = new Set<string>();
  maxHolders = 0;
  enable(h: string) {
    this.holders.add(h);
    this.maxHolders = Math.max(this.maxHolders, this.holders.size);
  }
  resetMax() {
    this.maxHolders = this.holders.size;
  }
}

export function fakeVip(world: World, host: string): VipDriver {
  const fake = {
    name: 'script',
    announcing: false,
    async enable() {
      const changed = !world.holders.has(host);
      world.enable(host);
      return { operation: 'enable' as const, changed, durationMs: 1 };
    },
    async disable() {
      const changed = world.holders.delete(host);
      return { operation: 'disable' as const, changed, durationMs: 1 };
    },
    async isPresent() {
      return { present: world.holders.has(host), flags: [], durationMs: 1 };
    },
    async announce() {
      return {
        mode: world.holders.has(host) ? ('sent' as const) : ('off' as const),
        count: 1,
        durationMs: 1,
      };
    },
    cancelAnnouncements() {},
  };
  return fake as unknown as VipDriver;
}
