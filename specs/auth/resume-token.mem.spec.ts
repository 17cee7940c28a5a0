import { createHmac } from 'node:crypto';
import { RESUME_TOKEN_LENGTH, ResumeTokens } from '../../auth/resume-token';
import { ServerOptionsSchema } from '../../server/options';

const CIRCLE = '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa';
const OTHER_CIRCLE = '024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e';
const USER = '02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5';
const SECRET = 'a-shared-secret-of-at-least-32-characters';
const NOW = 1_800_000_000;

describe('resume tokens', () => {
  const tokens = new ResumeTokens(SECRET, 3600);
  const { token, expiresAt } = tokens.issue(CIRCLE, USER, NOW);

  it('are compact, versioned and of one length', () => {
    expect(token).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(token).toHaveLength(RESUME_TOKEN_LENGTH);
    expect(RESUME_TOKEN_LENGTH).toBe(146);
    expect(expiresAt).toBe(NOW + 3600);
    expect(tokens.issue(OTHER_CIRCLE, USER, NOW + 99_999).token).toHaveLength(RESUME_TOKEN_LENGTH);
  });

  it('carry the circle, identity and expiry under HMAC-SHA256 of the version and payload', () => {
    const [version, payload, mac] = token.split('.');
    const bytes = Buffer.from(payload!, 'base64url');
    expect(bytes.toString('hex', 0, 33)).toBe(CIRCLE);
    expect(bytes.toString('hex', 33, 66)).toBe(USER);
    expect(Number(bytes.readBigUInt64BE(66))).toBe(expiresAt);
    expect(mac).toBe(createHmac('sha256', SECRET).update(`${version}.${payload}`).digest('base64url'));
  });

  it('vouch for the identity in their circle until they expire', () => {
    expect(tokens.check(token, CIRCLE, NOW)).toEqual({ ok: true, pubkey: USER, expiresAt });
    expect(tokens.check(token, CIRCLE, expiresAt - 1)).toEqual({ ok: true, pubkey: USER, expiresAt });
    expect(tokens.check(token, CIRCLE, expiresAt)).toEqual({ ok: false, reason: 'expired' });
    expect(tokens.check(token, CIRCLE, expiresAt + 86_400)).toEqual({ ok: false, reason: 'expired' });
  });

  it('are refused in another circle', () => {
    expect(tokens.check(token, OTHER_CIRCLE, NOW)).toEqual({ ok: false, reason: 'other_circle' });
  });

  it('are accepted by any instance with the same secret, refused under another or a random one', () => {
    expect(new ResumeTokens(SECRET, 60).check(token, CIRCLE, NOW)).toMatchObject({ ok: true, pubkey: USER });
    expect(new ResumeTokens(`${SECRET}!`, 3600).check(token, CIRCLE, NOW)).toEqual({
      ok: false,
      reason: 'forged',
    });
    const a = new ResumeTokens(undefined, 3600);
    const b = new ResumeTokens(undefined, 3600);
    const fromA = a.issue(CIRCLE, USER, NOW).token;
    expect(a.check(fromA, CIRCLE, NOW).ok).toBe(true);
    expect(b.check(fromA, CIRCLE, NOW)).toEqual({ ok: false, reason: 'forged' });
  });

  it('slide: a later login gets a later expiry', () => {
    const later = tokens.issue(CIRCLE, USER, NOW + 1000);
    expect(later.expiresAt).toBe(expiresAt + 1000);
    expect(later.token).not.toBe(token);
  });

  it('refuse every single-character change, including base64 padding bits', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    let tried = 0;
    for (let i = 0; i < token.length; i++) {
      for (const c of [alphabet[(alphabet.indexOf(token[i]!) + 1) % alphabet.length]!, 'A']) {
        if (c === token[i]) continue;
        const tampered = token.slice(0, i) + c + token.slice(i + 1);
        const r = tokens.check(tampered, CIRCLE, NOW);
        expect([i, c, r.ok]).toEqual([i, c, false]);
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(token.length);
    // the last MAC character carries 2 unused bits: a variant that decodes to the same bytes
    const last = token[token.length - 1]!;
    const sameBytes = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(Buffer.from(token.slice(-43), 'base64url')).toEqual(
      Buffer.from(token.slice(-43, -1) + sameBytes, 'base64url'),
    );
    expect(tokens.check(token.slice(0, -1) + sameBytes, CIRCLE, NOW)).toEqual({
      ok: false,
      reason: 'forged',
    });
  });

  it('refuse truncated, extended and garbage tokens as malformed', () => {
    for (let n = 0; n < token.length; n++) {
      expect(tokens.check(token.slice(0, n), CIRCLE, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
    for (const bad of [
      `${token}A`,
      `${token}.`,
      token.replace(/^v1/, 'v2'),
      token.replace('.', '_'),
      token.replace(/\.[^.]+$/, (m) => `=${m.slice(1)}`),
      'x'.repeat(RESUME_TOKEN_LENGTH),
      `${token.slice(0, -2)}é`,
      'x'.repeat(100_000),
    ]) {
      expect(tokens.check(bad, CIRCLE, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});

describe('session options', () => {
  it('default to a one-hour token and no secret (random per process)', () => {
    const o = ServerOptionsSchema.parse({});
    expect(o.sessionTtlSeconds).toBe(3600);
    expect(o.sessionSecret).toBeUndefined();
  });

  it.each([
    [{ sessionSecret: 'short' }, 'sessionSecret'],
    [{ sessionTtlSeconds: 0 }, 'sessionTtlSeconds'],
    [{ sessionTtlSeconds: 1.5 }, 'sessionTtlSeconds'],
    [{ sessionTtlSeconds: 32 * 24 * 3600 }, 'sessionTtlSeconds'],
  ])('refuse %j', (input, field) => {
    const r = ServerOptionsSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual([field]);
  });
});
