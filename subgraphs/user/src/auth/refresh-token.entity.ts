import { randomUUID } from "node:crypto";
import { Entity, Index, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { hashSecretToken, newSecretToken } from "./secret-token";

/**
 * An opaque refresh token, stored only as its SHA-256. Tokens rotate on every
 * use; all tokens issued from one login share a `familyId`, and presenting a
 * token that was already used revokes the whole family (it was probably stolen),
 * unless it was used only seconds ago (see `rotateRefreshToken`).
 */
@Entity({ tableName: "refresh_tokens" })
@Index({ properties: ["familyId"] })
export class RefreshToken {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "text", unique: true })
  tokenHash: string;

  @Property({ type: "uuid" })
  userId: string;

  @Property({ type: "uuid" })
  familyId: string;

  @Property({ type: "timestamptz" })
  expiresAt: Date;

  @Property({ type: "timestamptz", nullable: true })
  usedAt: Opt<Date> | null = null;

  @Property({ type: "timestamptz", nullable: true })
  revokedAt: Opt<Date> | null = null;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  /** Presentations after its rotation that the reuse grace answered (counted under the row's lock). */
  @Property({ type: "integer" })
  reuseAnswers: Opt<number> = 0;

  private constructor(userId: string, familyId: string, tokenHash: string, ttlSeconds: number) {
    this.userId = userId;
    this.familyId = familyId;
    this.tokenHash = tokenHash;
    this.expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  }

  /** Creates a token and returns it with the only copy of its plain value. */
  static issue(userId: string, familyId: string, ttlSeconds: number): { entity: RefreshToken; token: string } {
    const { token, hash } = newSecretToken();
    return { entity: new RefreshToken(userId, familyId, hash, ttlSeconds), token };
  }

  static hash(token: string): string {
    return hashSecretToken(token);
  }

  isUsable(now = new Date()): boolean {
    return !this.usedAt && !this.revokedAt && this.expiresAt > now;
  }

  /** Spent less than `graceSeconds` ago, and neither revoked nor expired since. */
  isInReuseGrace(graceSeconds: number, now = new Date()): boolean {
    return !!this.usedAt && !this.revokedAt && this.expiresAt > now && now.getTime() - this.usedAt.getTime() < graceSeconds * 1000;
  }
}
