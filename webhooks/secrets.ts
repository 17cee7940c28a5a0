/**
 * Parses a webhook signing-secret setting such as `STRIPE_WEBHOOK_SECRET`.
 *
 * A comma-separated list lets operators rotate secrets without downtime: the
 * new secret is added next to the old one, and a signature matching any entry
 * is accepted. Entries are trimmed (a stray space or newline from a `.env`
 * file would otherwise silently break every verification) and empty entries
 * are dropped, so an unset or blank value yields `[]` (= nothing can verify).
 *
 * @param value - raw setting, usually `process.env.X`
 * @returns the non-empty secrets, in the order given
 */
export function parseSecretList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
