// Debian's Chromium as the tests launch it (playwright-core): where it is, and the switches that keep a headless
// run quiet and local — no GPU, no QUIC, no first-run page, no background fetches, updates or sync.
export const CHROMIUM = '/usr/bin/chromium';

export const QUIET_CHROMIUM_ARGS: readonly string[] = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
