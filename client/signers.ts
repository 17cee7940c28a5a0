import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils';

/** How a login proves who it is (SPEC §3): an identity and EIP-191 `personal_sign`. */
export interface Signer {
  /** `pubkey`: logs in with `fetch_nonce({pubkey})`; `address`: with `fetch_nonce({address})` (§3.7). */
  readonly kind: 'pubkey' | 'address';
  /** Compressed public key hex (kind `pubkey`) or `0x` address (kind `address`). */
  identity(): Promise<string>;
  /** EIP-191 `personal_sign` of `message`: 65 bytes `r‖s‖v`, `0x` hex. */
  signMessage(message: string): Promise<string>;
}

/** The digest `personal_sign` signs: keccak256("\x19Ethereum Signed Message:\n" + byteLength + message). */
export function personalMessageHash(message: string): Uint8Array {
  const body = utf8ToBytes(message);
  return keccak_256(concatBytes(utf8ToBytes(`\x19Ethereum Signed Message:\n${body.length}`), body));
}

function privateKeyBytes(privateKeyHex: string): Uint8Array {
  const hex = typeof privateKeyHex === 'string' ? privateKeyHex.replace(/^0x/i, '') : '';
  if (!/^[0-9a-fA-F]{64}$/.test(hex) || !secp256k1.utils.isValidPrivateKey(hex)) {
    throw new TypeError('a private key is 64 hex characters (optional 0x), a valid secp256k1 scalar');
  }
  return hexToBytes(hex);
}

/** Signs with a raw private key, in pure JavaScript (runs in browsers and Node alike). */
export function privateKeySigner(privateKeyHex: string): Signer {
  const key = privateKeyBytes(privateKeyHex);
  const pubkey = bytesToHex(secp256k1.getPublicKey(key, true));
  return {
    kind: 'pubkey',
    identity: () => Promise.resolve(pubkey),
    signMessage(message: string) {
      // RFC 6979 nonces and low s: the same bytes a wallet produces; v = 27/28 as wallets send it
      const sig = secp256k1.sign(personalMessageHash(message), key);
      return Promise.resolve(`0x${sig.toCompactHex()}${(27 + sig.recovery).toString(16)}`);
    },
  };
}

/** A fresh random private key (64 hex characters) from `crypto.getRandomValues`. */
export function randomPrivateKey(): string {
  // A random 32-byte string is out of range with probability ~2^-128; the bound is a formality.
  for (let i = 0; i < 8; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const hex = bytesToHex(bytes);
    if (secp256k1.utils.isValidPrivateKey(hex)) return hex;
  }
  throw new Error('crypto.getRandomValues gave no valid secp256k1 key in 8 tries');
}

/** The part of an EIP-1193 provider (`window.ethereum`) a login needs. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

function checkSignature(signature: unknown, from: string): string {
  if (typeof signature !== 'string' || !SIGNATURE.test(signature)) {
    throw new Error(`${from} did not return a 65-byte 0x hex signature`);
  }
  return signature;
}

/**
 * Logs in with a browser wallet by address (SPEC §3.7): `eth_requestAccounts` once, then
 * exactly one `personal_sign` per fresh login (one wallet prompt).
 */
export function eip1193Signer(provider: Eip1193Provider): Signer {
  let account: Promise<string> | undefined;
  const identity = (): Promise<string> => {
    account ??= provider.request({ method: 'eth_requestAccounts' }).then((accounts) => {
      const first: unknown = Array.isArray(accounts) ? accounts[0] : undefined;
      if (typeof first !== 'string' || !ADDRESS.test(first)) {
        throw new Error('the wallet returned no account for eth_requestAccounts');
      }
      return first;
    });
    // a refused prompt is asked again next time, not remembered
    account.catch(() => (account = undefined));
    return account;
  };
  return {
    kind: 'address',
    identity,
    async signMessage(message: string) {
      const address = await identity();
      // personal_sign takes the message as hex of its UTF-8 bytes, then the account
      const data = `0x${bytesToHex(utf8ToBytes(message))}`;
      return checkSignature(
        await provider.request({ method: 'personal_sign', params: [data, address] }),
        'personal_sign',
      );
    },
  };
}

/** An object that signs messages the way ethers' `Wallet`/`Signer` does. */
export interface MessageSigningObject {
  signMessage(message: string): Promise<string> | string;
  getAddress?(): Promise<string> | string;
  address?: string;
}

/** A viem account (`privateKeyToAccount`, `toAccount`): `signMessage({ message })`. */
export interface ViemAccountLike {
  readonly type: 'local' | 'json-rpc';
  readonly address: string;
  signMessage(args: { message: string }): Promise<string>;
}

/** Logs in by address (SPEC §3.7) with an ethers `Wallet`/`Signer` or a viem account. */
export function messageSigner(obj: MessageSigningObject | ViemAccountLike): Signer {
  const source = obj as Partial<MessageSigningObject & ViemAccountLike>;
  if (typeof source.signMessage !== 'function')
    throw new TypeError('messageSigner needs signMessage(message)');
  if (typeof source.getAddress !== 'function' && typeof source.address !== 'string') {
    throw new TypeError('messageSigner needs getAddress() or an address property');
  }
  const isViem = source.type === 'local' || source.type === 'json-rpc';
  return {
    kind: 'address',
    async identity() {
      const address = typeof source.getAddress === 'function' ? await source.getAddress() : source.address;
      if (typeof address !== 'string' || !ADDRESS.test(address)) {
        throw new Error('the signer gave no 0x address');
      }
      return address;
    },
    async signMessage(message: string) {
      const signature = isViem
        ? await (obj as ViemAccountLike).signMessage({ message })
        : await (obj as MessageSigningObject).signMessage(message);
      return checkSignature(signature, 'signMessage');
    },
  };
}
