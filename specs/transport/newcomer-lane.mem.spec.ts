import { NewcomerLane, type NewcomerLaneOptions } from '../../transport/newcomer-lane';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function lane(opts: Partial<NewcomerLaneOptions> = {}): { lane: NewcomerLane; errors: unknown[] } {
  const errors: unknown[] = [];
  return {
    lane: new NewcomerLane({
      maxWaitingUpgrades: 100,
      maxWaitMs: 10_000,
      turnBudgetMs: 1_000,
      maxJobsPerTurn: 1_000,
      onError: (e) => errors.push(e),
      ...opts,
    }),
    errors,
  };
}

/** Busy-waits `ms`: a job that costs CPU time, as an upgrade or a login frame does. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('NewcomerLane', () => {
  it('runs queued work in arrival order, later, not in the caller’s turn', async () => {
    const { lane: l } = lane();
    const ran: string[] = [];
    l.defer(() => ran.push('a'));
    expect(
      l.admitUpgrade(
        () => ran.push('u'),
        () => ran.push('refused'),
      ),
    ).toBe(true);
    l.defer(() => ran.push('b'));
    expect(ran).toEqual([]);
    expect(l.waiting).toBe(3);
    expect(l.waitingUpgrades).toBe(1);
    await turn();
    expect(ran).toEqual(['a', 'u', 'b']);
    expect(l.waiting).toBe(0);
    expect(l.waitingUpgrades).toBe(0);
  });

  it('spends at most its budget per turn, so other work of the loop runs in between', async () => {
    const { lane: l } = lane({ turnBudgetMs: 5 });
    const order: string[] = [];
    for (let i = 0; i < 6; i++)
      l.defer(() => {
        spin(2);
        order.push(`n${i}`);
      });
    // An established session's frame, handled later in the same loop turn.
    setImmediate(() => order.push('established'));
    for (let i = 0; i < 10 && order.length < 7; i++) await turn();
    expect(order).toHaveLength(7);
    const at = order.indexOf('established');
    expect(at).toBeGreaterThan(0); // the lane ran first ...
    expect(at).toBeLessThan(6); // ... but did not run all six before it
    expect(order.filter((x) => x !== 'established')).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5']);
  });

  it('runs at most maxJobsPerTurn jobs per turn, however cheap', async () => {
    const { lane: l } = lane({ maxJobsPerTurn: 4 });
    const order: string[] = [];
    for (let i = 0; i < 10; i++) l.defer(() => order.push('n'));
    setImmediate(() => order.push('established'));
    for (let i = 0; i < 10 && order.length < 11; i++) await turn();
    expect(order.indexOf('established')).toBe(4);
    expect(order).toHaveLength(11);
  });

  it('lets work run at once while nothing waits, at most maxJobsPerTurn per turn, never ahead of waiting work', async () => {
    const { lane: l } = lane({ maxJobsPerTurn: 3 });
    expect([l.runNow(), l.runNow(), l.runNow(), l.runNow()]).toEqual([true, true, true, false]);
    await turn();
    expect(l.runNow()).toBe(true); // a new turn, a new budget
    await turn();
    l.defer(() => undefined);
    expect(l.runNow()).toBe(false); // something waits: FIFO
    await turn();
    await turn();
    expect(l.runNow()).toBe(true);
  });

  it('work(): at once while the turn allows, then queued in order behind what waits', async () => {
    const { lane: l } = lane({ maxJobsPerTurn: 2 });
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) l.work(() => ran.push(i));
    expect(ran).toEqual([0, 1]); // this turn's two grants
    expect(l.waiting).toBe(3);
    for (let i = 0; i < 5 && ran.length < 5; i++) await turn();
    expect(ran).toEqual([0, 1, 2, 3, 4]);
  });

  it('admits a bounded number of upgrades; one more is refused at arrival', () => {
    const { lane: l } = lane({ maxWaitingUpgrades: 2 });
    expect(
      l.admitUpgrade(
        () => undefined,
        () => undefined,
      ),
    ).toBe(true);
    expect(
      l.admitUpgrade(
        () => undefined,
        () => undefined,
      ),
    ).toBe(true);
    expect(
      l.admitUpgrade(
        () => undefined,
        () => undefined,
      ),
    ).toBe(false);
    l.defer(() => undefined); // frames are not upgrades: never refused
    expect(l.waiting).toBe(3);
  });

  it('refuses an upgrade that waited longer than maxWaitMs instead of serving it', async () => {
    const { lane: l } = lane({ maxWaitMs: 20 });
    const seen: string[] = [];
    l.defer(() => spin(40)); // the lane is held up ahead of the upgrade
    l.admitUpgrade(
      () => seen.push('served'),
      () => seen.push('refused'),
    );
    await turn();
    await turn();
    expect(seen).toEqual(['refused']);
    expect(l.waitingUpgrades).toBe(0);
  });

  it('on close refuses the waiting upgrades, admits none, and still runs frames', async () => {
    const { lane: l } = lane();
    const seen: string[] = [];
    l.admitUpgrade(
      () => seen.push('served'),
      () => seen.push('refused'),
    );
    l.defer(() => seen.push('frame'));
    l.close();
    expect(seen).toEqual(['refused']);
    expect(
      l.admitUpgrade(
        () => seen.push('late'),
        () => undefined,
      ),
    ).toBe(false);
    await sleep(5);
    expect(seen).toEqual(['refused', 'frame']);
  });

  it('upgrade(): at once while nothing waits, deferred behind waiting work, busy when full or closed', async () => {
    const { lane: l } = lane({ maxWaitingUpgrades: 1 });
    const seen: string[] = [];
    const upgrade = (name: string): void =>
      l.upgrade(
        (deferred) => seen.push(`${name}:${deferred ? 'deferred' : 'now'}`),
        () => seen.push(`${name}:busy`),
      );
    upgrade('a');
    expect(seen).toEqual(['a:now']);
    l.defer(() => seen.push('frame'));
    upgrade('b'); // behind the waiting frame: queued
    upgrade('c'); // one upgrade waits already: refused at arrival
    expect(seen).toEqual(['a:now', 'c:busy']);
    await turn();
    expect(seen).toEqual(['a:now', 'c:busy', 'frame', 'b:deferred']);
    l.close();
    upgrade('d');
    expect(seen.at(-1)).toBe('d:busy');
  });

  it('reports a job that throws and goes on with the next', async () => {
    const { lane: l, errors } = lane();
    const ran: string[] = [];
    l.defer(() => {
      throw new Error('boom');
    });
    l.defer(() => ran.push('next'));
    await turn();
    expect(ran).toEqual(['next']);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('boom');
  });
});
