/** What a probe answers while the awaited thing has not happened yet. */
type NotYet = undefined | false;

/**
 * The specs' one wait-until: polls `probe` (sync or async) every `everyMs` until it answers
 * something other than `undefined` or `false`, and returns that (`true` for a plain
 * condition); after `ms` fails naming `what` (a function: read at the failure, to show the
 * last state). Bounded in time, and so in count too. A probe that throws ends the wait.
 */
export async function until<T>(
  probe: () => T | NotYet | Promise<T | NotYet>,
  what: string | (() => string),
  ms = 8000,
  everyMs = 10,
): Promise<Exclude<T, NotYet>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as Exclude<T, NotYet>;
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
