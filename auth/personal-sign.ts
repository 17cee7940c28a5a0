import { secp256k1 } from '@noble/curves/secp256k1';
import { personalMessageDigest } from './eip191';
import { nativeSecp256k1 } from './native-secp256k1';

/**
 * personal_sign (EIP-191) with a raw private key: 65-byte `r‖s‖v` hex, v = 27/28, as wallets
 * produce. RFC 6979 nonces and low s, so libsecp256k1 (used when its binding loads, ≈ 10×
 * faster) and @noble/curves give the same bytes.
 */
export function personalSign(message: string, privateKeyHex: string): string {
  const digest = personalMessageDigest(message);
  const key = privateKeyHex.replace(/^0x/, '');
  if (nativeSecp256k1) {
    const { signature, recid } = nativeSecp256k1.ecdsaSign(digest, Buffer.from(key, 'hex'));
    return `0x${Buffer.from(signature).toString('hex')}${(27 + recid).toString(16)}`;
  }
  const sig = secp256k1.sign(digest, key);
  return `0x${sig.toCompactHex()}${(27 + sig.recovery).toString(16)}`;
}

/** The compressed public key of a private key, as the server names identities. */
export function publicKeyOf(privateKeyHex: string): string {
  return Buffer.from(secp256k1.getPublicKey(privateKeyHex.replace(/^0x/, ''), true)).toString('hex');
}
