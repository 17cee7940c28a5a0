/** The value of one sample in Prometheus text, matching `labels` exactly; undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((p) => [p[1], p[2]]));
    const want = Object.entries(labels);
    if (Object.keys(got).length === want.length && want.every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** A gateway's `GET /metrics` (which must answer 200): the Prometheus text. */
export async function scrape(gw: { http: string }): Promise<string> {
  const res = await fetch(`${gw.http}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}
