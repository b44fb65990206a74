// Write keys: the credential a Segment-compatible SDK sends, belonging to one source. The key
// names its workspace, so the lookup by hash reads one workspace's rows. Pure.

export interface WriteKey {
  id: string;
  source_id: number;
  created_at: string;
}

/** Who a write key lets in: the source whose priority and identity properties apply. */
export interface WriteKeyAuth {
  workspaceId: number;
  sourceId: number;
  keyId: string;
}

const KEY = /^pdw_([1-9]\d{0,9})_[A-Za-z0-9_-]{43}$/;

/** `secret`: 32 random bytes in base64url (43 characters). */
export const formatWriteKey = (workspaceId: number, secret: string) => `pdw_${workspaceId}_${secret}`;

/** The workspace a well-formed write key names; undefined for anything else. */
export function workspaceOfWriteKey(key: string): number | undefined {
  const match = KEY.exec(key);
  if (!match) return undefined;
  const id = Number(match[1]);
  return id <= 2_147_483_647 ? id : undefined;
}
