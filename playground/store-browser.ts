/**
 * The store browser: one play lists the keys under a prefix with `store_keys` and reads each
 * value in the same run, so the listing is one consistent snapshot of the circle's store.
 */
export function storeListingScript(prefix: string): string {
  // A JSON string literal is a valid Rhai string literal (same escapes).
  return [
    'let entries = #{};',
    `for key in store_keys(${JSON.stringify(prefix)}) { entries[key] = store_get(key); }`,
    'entries.to_json()',
  ].join('\n');
}

/** The listing's output as sorted [key, value as JSON] pairs; throws on an unexpected shape. */
export function parseListing(output: string): [string, string][] {
  const parsed: unknown = JSON.parse(output);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('the store listing did not return a JSON object');
  }
  return Object.entries(parsed)
    .map(([k, v]): [string, string] => [k, JSON.stringify(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
