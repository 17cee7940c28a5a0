import { secp256k1 } from '@noble/curves/secp256k1';
import { personalMessageDigest } from '../auth/eip191';

/** personal_sign (EIP-191) with a raw private key: 65-byte `r‖s‖v` hex, v = 27/28, as wallets produce. */
export function personalSign(message: string, privateKeyHex: string): string {
  const sig = secp256k1.sign(personalMessageDigest(message), privateKeyHex.replace(/^0x/, ''));
  return `0x${sig.toCompactHex()}${(27 + sig.recovery).toString(16)}`;
}

/** The compressed public key of a private key, as the server names identities. */
export function publicKeyOf(privateKeyHex: string): string {
  return Buffer.from(secp256k1.getPublicKey(privateKeyHex.replace(/^0x/, ''), true)).toString('hex');
}
