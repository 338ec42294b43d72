/** Record ids as Deno KV keys them: 64 hex digits, like Durable Object ids (record.ts RECORD_ID). */

function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

/** A new random id: 32 random bytes. */
export function randomHexId(): string {
  return hex(crypto.getRandomValues(new Uint8Array(32)));
}

/** The id of a named record: hex SHA-256 of `${kindName}:${name}`, so the same name always reaches the same record. */
export async function namedHexId(kindName: string, name: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${kindName}:${name}`))));
}
