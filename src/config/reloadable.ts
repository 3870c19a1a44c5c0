// Which config changes a running server takes on SIGHUP (README "Reload"), and which need a restart. Pure.
import type { SiphaConfig } from './schema.js';

/** Keys a reload may change; the rest of the config is fixed while the server runs. */
const RELOADABLE = new Set(['sip.users_file', 'sip.routes', 'sip.registrar', 'sip.tls', 'log.level']);

/** The keys (two levels deep: `sip.listen`, `vip`) that differ between two configs and need a restart. */
export function restartOnlyDifferences(a: SiphaConfig, b: SiphaConfig): string[] {
  const out: string[] = [];
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  for (const top of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    const x = ra[top];
    const y = rb[top];
    if (isPlainObject(x) && isPlainObject(y) && (top === 'sip' || top === 'log')) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)]))
        if (!RELOADABLE.has(`${top}.${k}`) && JSON.stringify(x[k]) !== JSON.stringify(y[k]))
          out.push(`${top}.${k}`);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(top);
  }
  // Authentication on or off is wired into the proxy at start; another users file (or the same, edited) is not.
  if ((a.sip.users_file === undefined) !== (b.sip.users_file === undefined)) out.push('sip.users_file');
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
