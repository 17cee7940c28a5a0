import { Wallet } from 'ethers';
import { addressOfPubkey } from '../../auth/address';
import { personalMessageDigest } from '../../auth/eip191';
import { normalizePubkey, generateKeyPair } from '../../auth/keys';
import { nativeSecp256k1 } from '../../auth/native-secp256k1';
import {
  decodeSignature,
  verifyPersonalSignature as reference,
  verifyPersonalSignatureNative,
} from '../../auth/signature';
import { createVerifierPool } from '../../auth/verify-pool';
import { personalSign, publicKeyOf } from '../../auth/personal-sign';
import { parseWorkerOptions } from '../../worker/options';
import { describeWithShared, readSharedJson } from '../support/shared-data';

interface Vector {
  private_key: string;
  pubkey_compressed: string;
  pubkey_uncompressed: string;
  message: string;
  eip191_digest: string;
  signature: string;
}

const VECTORS_FILE = 'vectors/auth-vectors.json';
const vectors: Vector[] = readSharedJson<Vector[]>(VECTORS_FILE) ?? [];
/** Every describe below reads the vectors (the native-binding check above them does not). */
const withVectors = describeWithShared(VECTORS_FILE);
const strip = (h: string): string => h.replace(/^0x/, '');
const flipHexByte = (hex: string, i: number): string => {
  const b = Buffer.from(strip(hex), 'hex');
  b[i] = b[i]! ^ 0x01;
  return b.toString('hex');
};

it('the native libsecp256k1 binding loads here (else the server falls back to @noble/curves)', () => {
  expect(nativeSecp256k1).not.toBeNull();
});

withVectors.each([
  ['@noble/curves (reference)', reference],
  ['libsecp256k1 (native)', verifyPersonalSignatureNative],
])('EIP-191 personal_sign vectors with %s', (_impl, verifyPersonalSignature) => {
  it('has vectors to check', () => expect(vectors.length).toBeGreaterThanOrEqual(3));

  it.each(vectors.map((v) => [v.message, v] as const))('digest and signature of %j', (_m, v) => {
    const key = normalizePubkey(v.pubkey_compressed)!;
    expect(Buffer.from(personalMessageDigest(v.message)).toString('hex')).toBe(strip(v.eip191_digest));
    expect(verifyPersonalSignature(v.message, v.signature, key)).toBe(true);
    // the same key given uncompressed normalises to the same canonical form
    expect(normalizePubkey(v.pubkey_uncompressed)).toBe(key);
    // v as 0/1 instead of 27/28
    const sig = Buffer.from(strip(v.signature), 'hex');
    sig[64] = sig[64]! - 27;
    expect(verifyPersonalSignature(v.message, sig.toString('hex'), key)).toBe(true);
    // 64-byte compact form verifies directly
    expect(verifyPersonalSignature(v.message, strip(v.signature).slice(0, 128), key)).toBe(true);
  });

  it.each(vectors.map((v) => [v.message, v] as const))('rejects every flipped byte of %j', (_m, v) => {
    const key = normalizePubkey(v.pubkey_compressed)!;
    const msg = Buffer.from(v.message, 'utf8');
    for (let i = 0; i < msg.length; i++) {
      const m = Buffer.from(msg);
      m[i] = m[i]! ^ 0x01;
      expect(verifyPersonalSignature(m.toString('latin1'), v.signature, key)).toBe(false);
    }
    for (let i = 0; i < 65; i++) {
      expect(verifyPersonalSignature(v.message, flipHexByte(v.signature, i), key)).toBe(false);
    }
    for (let i = 0; i < 33; i++) {
      const other = normalizePubkey(flipHexByte(v.pubkey_compressed, i));
      // most flips leave the curve; those that stay on it name another key
      if (other) expect(verifyPersonalSignature(v.message, v.signature, other)).toBe(false);
    }
  });

  it('accepts a high-s 64-byte signature like the reference does', () => {
    const v = vectors[0]!;
    const key = normalizePubkey(v.pubkey_compressed)!;
    const n = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
    const sig = strip(v.signature);
    const highS = (n - BigInt(`0x${sig.slice(64, 128)}`)).toString(16).padStart(64, '0');
    expect(verifyPersonalSignature(v.message, `${sig.slice(0, 64)}${highS}`, key)).toBe(true);
  });

  it('rejects malformed signatures', () => {
    const v = vectors[0]!;
    const key = normalizePubkey(v.pubkey_compressed)!;
    for (const bad of ['', '0x', 'zz', strip(v.signature).slice(0, 100), `${strip(v.signature)}00`]) {
      expect(verifyPersonalSignature(v.message, bad, key)).toBe(false);
    }
    const sig = Buffer.from(strip(v.signature), 'hex');
    sig[64] = 29;
    expect(decodeSignature(sig.toString('hex'))).toBeNull();
  });

  it('accepts fresh ethers Wallet.signMessage signatures', async () => {
    const wallet = Wallet.createRandom();
    const key = normalizePubkey(wallet.signingKey.compressedPublicKey)!;
    const msg = 'nonce_1700000000_00112233445566778899aabbccddeeff';
    expect(verifyPersonalSignature(msg, await wallet.signMessage(msg), key)).toBe(true);
  });
});

withVectors('key normalisation', () => {
  const v = vectors[0]!;
  const canonical = strip(v.pubkey_compressed).toLowerCase();

  it.each([
    v.pubkey_compressed,
    strip(v.pubkey_compressed),
    v.pubkey_compressed.toUpperCase().replace('0X', '0x'),
    v.pubkey_uncompressed,
    strip(v.pubkey_uncompressed).toUpperCase(),
  ])('%s → canonical compressed', (input) => expect(normalizePubkey(input)).toBe(canonical));

  it.each([
    '',
    'hello',
    `05${canonical.slice(2)}`,
    `04${canonical.slice(2)}`,
    canonical.slice(0, 64),
    `${canonical}00`,
    `02${'f'.repeat(64)}`, // x beyond the field: not a point
    `0x0x${canonical}`,
  ])('rejects %j', (input) => expect(normalizePubkey(input)).toBeNull());

  it('answers the same when asked again (remembered keys), and past its memory bound', () => {
    const keys = Array.from({ length: 5000 }, () => generateKeyPair().publicKey);
    for (const k of keys) expect(normalizePubkey(k.toUpperCase())).toBe(k);
    for (const k of [keys[0]!, keys[4999]!]) expect(normalizePubkey(k.toUpperCase())).toBe(k);
    expect(normalizePubkey(v.pubkey_uncompressed)).toBe(canonical);
    expect(normalizePubkey(v.pubkey_uncompressed)).toBe(canonical);
    expect(normalizePubkey(`02${'f'.repeat(64)}`)).toBeNull();
    expect(normalizePubkey(`02${'f'.repeat(64)}`)).toBeNull(); // a refusal is never remembered as a key
  });

  it('generates valid key pairs', () => {
    const { publicKey } = generateKeyPair();
    expect(normalizePubkey(publicKey)).toBe(publicKey);
  });

  // The worker had a normaliser of its own that also trimmed blanks and took `0X`: a key the
  // gateway refused (URL path, -k) could be served by a worker. Now there is one.
  it.each([
    v.pubkey_compressed,
    v.pubkey_uncompressed,
    strip(v.pubkey_uncompressed).toUpperCase(),
    ` ${canonical}`,
    `${canonical}\n`,
    `0X${canonical}`,
    `05${canonical.slice(2)}`,
    '',
  ])('the worker options take %j exactly when the gateway does, as the same key', (input) => {
    const worker = parseWorkerOptions({ circles: [input] });
    const gateway = normalizePubkey(input);
    if (gateway === null) expect(worker).toMatchObject({ ok: false });
    else expect(worker).toMatchObject({ ok: true, options: { circles: [gateway] } });
  });

  it('refuses blanks around a key and an upper-case 0X prefix, as the gateway always has', () => {
    for (const input of [` ${canonical}`, `${canonical} `, `0X${canonical}`]) {
      expect(normalizePubkey(input)).toBeNull();
    }
  });
});

withVectors('verifier pool', () => {
  const pool = createVerifierPool(2);
  afterAll(() => pool.close());

  it('finds the signed message among candidates, off the main thread', async () => {
    const v = vectors[1]!;
    const key = normalizePubkey(v.pubkey_compressed)!;
    // The signer's address comes back with the verdict, derived on the thread.
    await expect(pool.verify(['other', v.message], v.signature, key)).resolves.toEqual({
      index: 1,
      pubkey: key,
      address: addressOfPubkey(key),
    });
    await expect(pool.verify(['other'], v.signature, key)).resolves.toEqual({ index: -1 });
    const many = await Promise.all(
      vectors.map((x) => pool.verify([x.message], x.signature, normalizePubkey(x.pubkey_compressed)!)),
    );
    expect(many.map((m) => m.index)).toEqual(vectors.map(() => 0));
  });
});

withVectors('client signing', () => {
  it.each(vectors.map((v) => [v.message, v] as const))(
    'personalSign reproduces the ethers signature of %j',
    (_m, v) => {
      expect(publicKeyOf(v.private_key)).toBe(strip(v.pubkey_compressed));
      expect(personalSign(v.message, v.private_key)).toBe(v.signature);
    },
  );
});
