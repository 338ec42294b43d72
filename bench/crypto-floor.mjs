// The crypto floor: how many (ES256 verify + ES256 sign) pairs one core does, in Node's OpenSSL.
// It is the irreducible work of one DPoP token: verify the proof, sign the token.
import { generateKeyPairSync, sign, verify } from "node:crypto";

export function measureCryptoFloor(seconds = 2) {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const data = Buffer.from("eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0".repeat(4));
  const signature = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
  let pairs = 0;
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const started = process.hrtime.bigint();
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 50; i++) {
      verify("sha256", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature);
      sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
      pairs++;
    }
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return pairs / elapsed;
}
