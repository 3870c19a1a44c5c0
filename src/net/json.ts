// JSON from the wire: a parse that answers instead of throwing (authenticated frames can still be malformed).
export function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
