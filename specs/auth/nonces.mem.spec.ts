import { NonceBook } from '../../auth/nonces';

const KEY = '02' + 'ab'.repeat(32);

describe('NonceBook', () => {
  it('issues distinct nonces of 16 random bytes, across refills of its random pool', () => {
    const book = new NonceBook(10_000, 300);
    // 4096-byte pool, 16 bytes a nonce: 2,000 nonces span eight refills.
    const nonces = Array.from({ length: 2000 }, () => book.issue(KEY, 1_800_000_000).nonce);
    for (const n of nonces) expect(n).toMatch(/^nonce_1800000000_[0-9a-f]{32}$/);
    expect(new Set(nonces).size).toBe(nonces.length);
    // Not a counter or a repeated block: the hex digits are near-uniform (expected 4,000 each).
    const counts = new Map<string, number>();
    for (const n of nonces) for (const c of n.slice(-32)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const c of counts.values()) expect(Math.abs(c - 4000)).toBeLessThan(400);
  });

  it('take() reserves a key’s unexpired nonces, restore() puts back the unused, and the book stays bounded', () => {
    const book = new NonceBook(3, 300);
    const a = book.issue(KEY, 100);
    const b = book.issue(KEY, 100);
    book.issue('other', 100);
    expect(book.take(KEY, 200).map((n) => n.nonce)).toEqual([a.nonce, b.nonce]);
    expect(book.take(KEY, 200)).toEqual([]);
    book.restore([b]);
    expect(book.take(KEY, 500)).toEqual([]); // expired at 400
    for (let i = 0; i < 5; i++) book.issue(KEY, 100);
    expect(book.size).toBe(3);
  });
});
