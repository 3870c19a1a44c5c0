// One way to turn anything thrown into a message for logs, replies and alarms.
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
