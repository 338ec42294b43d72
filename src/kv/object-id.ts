/**
 * Objects named by their hex id on the wire (Session-Id, grant ids, UAF session and user ids): the id is
 * refused before any object is reached unless it is one this namespace could have minted.
 */
const OBJECT_ID = /^[0-9a-f]{64}$/;

export function objectByHexId<T extends Rpc.DurableObjectBranded | undefined>(namespace: DurableObjectNamespace<T>, id: string): DurableObjectStub<T> | null {
  if (!OBJECT_ID.test(id)) return null;
  try {
    return namespace.get(namespace.idFromString(id));
  } catch {
    return null;
  }
}
