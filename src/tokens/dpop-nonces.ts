/**
 * Issues and checks this server's DPoP nonces, caching the nonce of the current time step per isolate.
 * The derivation itself is the pure src/verifiers/dpop-nonce.ts.
 */
import { dpopNonceForStep, isDpopNonceValid, nonceStep } from "../verifiers/dpop-nonce";

let current: { key: CryptoKey; step: number; nonce: Promise<string> } | undefined;

/** The nonce to hand out now (`DPoP-Nonce` response header). */
export function currentDpopNonce(key: CryptoKey, now: number, stepSeconds: number): Promise<string> {
  const step = nonceStep(now, stepSeconds);
  if (!current || current.key !== key || current.step !== step)
    current = { key, step, nonce: dpopNonceForStep(key, step) };
  return current.nonce;
}

export function checkDpopNonce(key: CryptoKey, nonce: string, now: number, stepSeconds: number): Promise<boolean> {
  return isDpopNonceValid(nonce, key, now, stepSeconds);
}
