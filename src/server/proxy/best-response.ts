// Choosing the best final response among a proxy's branches (RFC 3261 §16.7 step 6).

/**
 * "A proxy MUST choose from the 6xx class responses if any exist. If no 6xx class responses are present, the
 * proxy SHOULD choose from the lowest response class stored in the response context." Within a class we prefer
 * 401/407 (the caller can act on them), then 3xx-5xx codes that say more than a plain 408/500.
 */
export function bestResponseIndex(statuses: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < statuses.length; i++) {
    if (best === -1 || better(statuses[i]!, statuses[best]!)) best = i;
  }
  return best;
}

function rank(status: number): number {
  const cls = Math.floor(status / 100);
  if (cls === 6) return 0;
  // Lower class is better; within a class, auth challenges first, then anything but the generic timeouts/errors.
  const within =
    status === 401 || status === 407 ? 0 : status === 408 || status === 500 || status === 503 ? 2 : 1;
  return cls * 10 + within;
}

function better(a: number, b: number): boolean {
  return rank(a) < rank(b);
}

/** "If the selected response is a 503 (Service Unavailable), the proxy MUST convert it to a 500". */
export function forwardableStatus(status: number): number {
  return status === 503 ? 500 : status;
}
