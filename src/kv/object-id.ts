/**
 * Objects named by their hex id on the wire (client_id of dynamic clients, Session-Id, grant ids, UAF
 * session and user ids, browser sessions): the id is refused before any object is reached unless it is
 * one this namespace could have minted.
 */
const OBJECT_ID = /^[0-9a-f]{64}$/;

export function objectByHexId<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  id: string,
): DurableObjectStub<T> | null {
  if (!OBJECT_ID.test(id)) return null;
  try {
    return namespace.get(namespace.idFromString(id));
  } catch {
    return null;
  }
}

/** A new object, created where this request runs, and its id (hex): what names it on the wire. */
export function newObject<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
): { id: string; stub: DurableObjectStub<T> } {
  const id = namespace.newUniqueId();
  return { id: id.toString(), stub: namespace.get(id) };
}
