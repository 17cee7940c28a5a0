/** A fake clock in seconds that a spec moves by hand: pass `read` as a gateway's `now`. */
export class FakeClock {
  constructor(public now: number) {}

  readonly read = (): number => this.now;
}
