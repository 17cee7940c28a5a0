import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1';
import { computeAddress, getAddress, Wallet } from 'ethers';
import { addressOfPubkey, checksumAddress, parseAddress } from '../../auth/address';
import { personalMessageDigest } from '../../auth/eip191';
import { nativeSecp256k1 } from '../../auth/native-secp256k1';
import { findAddressSigner, recoverPersonalSigner, recoverPersonalSignerNative } from '../../auth/recover';
import { createVerifierPool } from '../../auth/verify-pool';
import { describeWithShared, readSharedJson } from '../support/shared-data';

interface Vector {
  private_key: string;
  pubkey_compressed: string;
  pubkey_uncompressed: string;
  eth_address: string;
  message: string;
  signature: string;
}

const VECTORS_FILE = 'vectors/auth-vectors.json';
const vectors: Vector[] = readSharedJson<Vector[]>(VECTORS_FILE) ?? [];
const withVectors = describeWithShared(VECTORS_FILE);

const strip = (h: string): string => h.replace(/^0x/, '');
const randomKey = (): Uint8Array => secp256k1.utils.randomPrivateKey();

/** personal_sign with @noble/curves, as ethers and wallets produce it: r‖s‖v, v ∈ {27, 28}. */
function personalSign(message: string, key: Uint8Array, v27 = true): string {
  const sig = secp256k1.sign(personalMessageDigest(message), key);
  return `0x${sig.toCompactHex()}${(sig.recovery + (v27 ? 27 : 0)).toString(16).padStart(2, '0')}`;
}
const pubkeyOf = (key: Uint8Array): string => Buffer.from(secp256k1.getPublicKey(key, true)).toString('hex');

describe('EIP-55 addresses', () => {
  // the examples of the EIP itself
  const CHECKSUMMED = [
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
    '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
    '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
    '0x52908400098527886E0F7030069857D2E4169EE7',
    '0x8617E340B3D01FA5F11F306F4090FD50E238070D',
    '0xde709f2102306220921060314715629080e2fb77',
    '0x27b1fdb04752bbc536007a920d24acb045561c26',
  ];

  it.each(CHECKSUMMED)('%s is its own checksum form, from any case', (address) => {
    expect(checksumAddress(address.slice(2))).toBe(address);
    expect(checksumAddress(address.slice(2).toLowerCase())).toBe(address);
    expect(checksumAddress(address.slice(2).toUpperCase())).toBe(address);
    expect(parseAddress(address)).toEqual({ ok: true, address });
  });

  it('agrees with ethers.getAddress on 200 random addresses', () => {
    for (let i = 0; i < 200; i++) {
      const hex = randomBytes(20).toString('hex');
      expect(checksumAddress(hex)).toBe(getAddress(`0x${hex}`));
    }
  });

  it('takes all-lower and all-upper addresses as they are (no checksum to check)', () => {
    const a = CHECKSUMMED[0]!;
    expect(parseAddress(a.toLowerCase())).toEqual({ ok: true, address: a });
    expect(parseAddress(`0x${a.slice(2).toUpperCase()}`)).toEqual({ ok: true, address: a });
  });

  it('refuses a mixed-case address whose checksum is wrong (each letter flipped in turn)', () => {
    const a = CHECKSUMMED[0]!;
    let flipped = 0;
    for (let i = 2; i < a.length; i++) {
      const c = a[i]!;
      if (!/[a-fA-F]/.test(c)) continue;
      const swapped = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
      const typo = a.slice(0, i) + swapped + a.slice(i + 1);
      if (typo.slice(2) === typo.slice(2).toLowerCase() || typo.slice(2) === typo.slice(2).toUpperCase())
        continue;
      expect(parseAddress(typo)).toEqual({ ok: false, reason: expect.stringContaining('EIP-55') });
      flipped++;
    }
    expect(flipped).toBeGreaterThan(10);
  });

  it.each([
    ['', 'empty'],
    ['5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', 'no 0x'],
    ['0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', 'upper-case 0X'],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA', 'too short'],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00', 'too long'],
    [`0x${'g'.repeat(40)}`, 'not hex'],
    [' 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed', 'leading space'],
    ['0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\n', 'trailing newline'],
  ])('refuses %j (%s)', (text) => {
    expect(parseAddress(text)).toEqual({ ok: false, reason: expect.stringContaining('40 hex') });
  });

  it('derives the address of a key, compressed or not, as ethers does', () => {
    for (let i = 0; i < 20; i++) {
      const key = randomKey();
      const expected = computeAddress(`0x${Buffer.from(key).toString('hex')}`);
      expect(addressOfPubkey(pubkeyOf(key))).toBe(expected);
      expect(addressOfPubkey(Buffer.from(secp256k1.getPublicKey(key, false)).toString('hex'))).toBe(expected);
    }
  });
});

describe.each([
  ['@noble/curves (reference)', recoverPersonalSigner],
  ['libsecp256k1 (native)', recoverPersonalSignerNative],
])('signer recovery with %s', (_impl, recover) => {
  it('the native binding loads here (else both rows test the reference)', () => {
    expect(nativeSecp256k1).not.toBeNull();
  });

  withVectors('shared vectors', () => {
    it.each(vectors.map((v) => [v.message, v] as const))('recovers the signer of %j', (_m, v) => {
      const signer = { pubkey: strip(v.pubkey_compressed), address: v.eth_address };
      expect(recover(v.message, v.signature)).toEqual(signer);
      expect(addressOfPubkey(strip(v.pubkey_uncompressed))).toBe(v.eth_address);
      const sig = Buffer.from(strip(v.signature), 'hex');
      sig[64] = sig[64]! - 27; // v as 0/1
      expect(recover(v.message, sig.toString('hex'))).toEqual(signer);
    });
  });

  it('recovers ethers and @noble signatures alike (v 27/28 and 0/1)', async () => {
    for (let i = 0; i < 10; i++) {
      const key = randomKey();
      const wallet = new Wallet(`0x${Buffer.from(key).toString('hex')}`);
      const message = `nonce_1800000000_${randomBytes(16).toString('hex')}`;
      const expected = { pubkey: pubkeyOf(key), address: wallet.address };
      expect(recover(message, await wallet.signMessage(message))).toEqual(expected);
      expect(recover(message, personalSign(message, key))).toEqual(expected);
      expect(recover(message, personalSign(message, key, false))).toEqual(expected);
    }
  });

  it('recovers nothing from a 64-byte signature (it carries no recovery bit) or from garbage', () => {
    const key = randomKey();
    const sig = personalSign('hello', key);
    expect(recover('hello', sig.slice(0, 130))).toBeNull();
    for (const bad of ['', '0x', 'zz'.repeat(65), `${sig.slice(0, 130)}1d`, `0x${'00'.repeat(65)}`]) {
      expect(recover('hello', bad)).toBeNull();
    }
  });

  it('a flipped byte of the signature or the message never recovers the signer', () => {
    const key = randomKey();
    const address = new Wallet(`0x${Buffer.from(key).toString('hex')}`).address;
    const message = 'nonce_1800000000_00112233445566778899aabbccddeeff';
    const sig = Buffer.from(strip(personalSign(message, key)), 'hex');
    for (let i = 0; i < 64; i++) {
      const bad = Buffer.from(sig);
      bad[i] = bad[i]! ^ 0x01;
      expect(recover(message, bad.toString('hex'))?.address).not.toBe(address);
    }
    const flippedV = Buffer.from(sig);
    flippedV[64] = flippedV[64] === 27 ? 28 : 27;
    expect(recover(message, flippedV.toString('hex'))?.address).not.toBe(address);
    expect(recover(`${message}x`, sig.toString('hex'))?.address).not.toBe(address);
  });
});

describe('findAddressSigner', () => {
  const key = randomKey();
  const address = new Wallet(`0x${Buffer.from(key).toString('hex')}`).address;
  const messages = ['nonce_1_aa', 'nonce_2_bb', 'nonce_3_cc'];

  it('names the message the address signed and the key, any case of the address', () => {
    const sig = personalSign(messages[1]!, key);
    for (const a of [address, address.toLowerCase(), `0x${address.slice(2).toUpperCase()}`]) {
      expect(findAddressSigner(messages, sig, a)).toEqual({ index: 1, pubkey: pubkeyOf(key), address });
    }
  });

  it('-1 for a signature by another key, over another message, or of 64 bytes', () => {
    const other = randomKey();
    expect(findAddressSigner(messages, personalSign(messages[0]!, other), address)).toEqual({ index: -1 });
    expect(findAddressSigner(messages, personalSign('nonce_4_dd', key), address)).toEqual({ index: -1 });
    expect(findAddressSigner(messages, personalSign(messages[0]!, key).slice(0, 130), address)).toEqual({
      index: -1,
    });
  });
});

describe.each(['fast', 'reference'] as const)('verifier pool address jobs (%s)', (implementation) => {
  const pool = createVerifierPool(2, implementation);
  afterAll(() => pool.close());

  it('recovers on its threads, alongside pubkey jobs', async () => {
    const keys = Array.from({ length: 6 }, randomKey);
    const message = 'nonce_1800000000_0123456789abcdef0123456789abcdef';
    const results = await Promise.all(
      keys.flatMap((key) => {
        const sig = personalSign(message, key);
        const address = new Wallet(`0x${Buffer.from(key).toString('hex')}`).address;
        return [
          pool.recoverAddress(['other', message], sig, address),
          pool.verify([message], sig, pubkeyOf(key)),
          pool.recoverAddress(
            [message],
            sig,
            computeAddress(`0x${Buffer.from(randomKey()).toString('hex')}`),
          ),
        ];
      }),
    );
    keys.forEach((key, i) => {
      // ethers derives the EIP-55 address independently of ours.
      const address = new Wallet(`0x${Buffer.from(key).toString('hex')}`).address;
      expect(results[3 * i]).toEqual({ index: 1, pubkey: pubkeyOf(key), address });
      expect(results[3 * i + 1]).toEqual({ index: 0, pubkey: pubkeyOf(key), address });
      expect(results[3 * i + 2]).toEqual({ index: -1 });
    });
    expect(pool.pending).toBe(0);
  });
});
