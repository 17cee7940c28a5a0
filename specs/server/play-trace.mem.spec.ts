import { markPlay, markPlays, PLAY_STAGES, recordPlayStages } from '../../play-trace';

/** Marks one play's stages at the given times (ms), through a fake clock. */
function playAt(taskId: string, marks: [(typeof PLAY_STAGES)[number], number][]): void {
  const real = performance.now;
  try {
    for (const [stage, at] of marks) {
      performance.now = () => at;
      markPlay(taskId, stage);
    }
  } finally {
    performance.now = real;
  }
}

describe('play trace', () => {
  it('does nothing until a recorder is installed, and again once it is stopped', () => {
    expect(() => markPlay('t0', 'accepted')).not.toThrow();
    const r = recordPlayStages();
    r.stop();
    playAt('t1', [
      ['accepted', 0],
      ['answered', 1],
    ]);
    expect(r.breakdown().plays).toBe(0);
  });

  it('marks a batch at one time, skipping ids that are not strings, and never reads the batch when off', () => {
    let read = 0;
    const batch = [{ id: 'b1' }, { id: 42 }, { id: 'b2' }, null];
    const idOf = (x: { id: unknown } | null): unknown => {
      read++;
      return x?.id;
    };
    markPlays(batch, idOf, 'taken');
    expect(read).toBe(0);
    const r = recordPlayStages();
    try {
      markPlays(batch, idOf, 'accepted');
      expect(read).toBe(4);
      markPlays(batch, idOf, 'answered');
      const b = r.breakdown();
      expect(b.plays).toBe(2);
      expect(b.total.p50Us).toBeGreaterThanOrEqual(0);
    } finally {
      r.stop();
    }
  });

  it('gives the percentiles of each step between the stages a play passed, in path order', () => {
    const r = recordPlayStages();
    try {
      for (let i = 0; i < 10; i++) {
        playAt(`p${i}`, [
          ['accepted', 100],
          ['dispatched', 100.1],
          ['submitting', 100.2 + i * 0.01],
          ['taken', 101],
          ['ran', 101.5],
          ['writing', 101.6],
          ['reply-read', 102],
          ['replied', 102.1],
          ['answered', 102.5],
        ]);
      }
      // a play on a backend with no separate reply read: its step joins its neighbours'
      playAt('embedded', [
        ['accepted', 0],
        ['writing', 1],
        ['answered', 3],
      ]);
      // not accepted here (another process's task): ignored
      playAt('foreign', [
        ['taken', 0],
        ['answered', 1],
      ]);
      const b = r.breakdown();
      expect(b.plays).toBe(11);
      expect(b.steps.map((s) => `${s.from}>${s.to}`)).toEqual([
        'accepted>dispatched',
        'accepted>writing',
        'dispatched>submitting',
        'submitting>taken',
        'taken>ran',
        'ran>writing',
        'writing>reply-read',
        'writing>answered',
        'reply-read>replied',
        'replied>answered',
      ]);
      const step = (key: string) => b.steps.find((s) => `${s.from}>${s.to}` === key)!;
      expect(step('taken>ran').p50Us).toBeCloseTo(500, 0);
      expect(step('writing>reply-read').p99Us).toBeCloseTo(400, 0);
      expect(step('dispatched>submitting').p50Us).toBeCloseTo(150, 0); // 100 … 190 µs
      expect(b.total.p50Us).toBeCloseTo(2500, 0);
      expect(b.total.p99Us).toBeCloseTo(3000, 0);
    } finally {
      r.stop();
    }
  });
});
