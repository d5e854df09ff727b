// The part of sodium-native (libsodium bindings) that cordon uses. Declared here rather than taken
// from @types/sodium-native, whose last release describes sodium-native 2.
declare module 'sodium-native' {
  const sodium: {
    readonly crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number;
    readonly crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
    readonly crypto_aead_xchacha20poly1305_ietf_KEYBYTES: number;
    /** Writes ciphertext | tag into `out` (message length + ABYTES); returns the bytes written. */
    crypto_aead_xchacha20poly1305_ietf_encrypt(
      out: Buffer,
      message: Buffer,
      additionalData: Buffer | null,
      secretNonce: null,
      publicNonce: Buffer,
      key: Buffer,
    ): number;
    /** Writes the message into `out` (ciphertext length - ABYTES); throws when the tag does not authenticate. */
    crypto_aead_xchacha20poly1305_ietf_decrypt(
      out: Buffer,
      secretNonce: null,
      ciphertext: Buffer,
      additionalData: Buffer | null,
      publicNonce: Buffer,
      key: Buffer,
    ): number;
  };
  export default sodium;
}
