/**
 * WebCrypto key type that both lib typings agree on: the Workers types declare
 * `CryptoKey` and `JsonWebKey` globally, @types/node 20 (used by the unit
 * project, which runs these modules in Node too) does not.
 */
export type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
