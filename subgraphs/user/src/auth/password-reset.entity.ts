import { randomUUID } from "node:crypto";
import { Entity, Index, PrimaryKey, Property, type Opt } from "@mikro-orm/core";
import { hashSecretToken, newSecretToken } from "./secret-token";

/** A single-use password reset token, stored only as its SHA-256, like refresh tokens. */
@Entity({ tableName: "password_reset_tokens" })
@Index({ properties: ["userId", "createdAt"] })
export class PasswordResetToken {
  @PrimaryKey({ type: "uuid" })
  id: string = randomUUID();

  @Property({ type: "text", unique: true })
  tokenHash: string;

  @Property({ type: "uuid" })
  userId: string;

  @Property({ type: "timestamptz" })
  expiresAt: Date;

  @Property({ type: "timestamptz", nullable: true })
  usedAt: Opt<Date> | null = null;

  @Property({ type: "timestamptz" })
  createdAt: Opt<Date> = new Date();

  private constructor(userId: string, tokenHash: string, ttlSeconds: number) {
    this.userId = userId;
    this.tokenHash = tokenHash;
    this.expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  }

  /** Creates a token and returns it with the only copy of its plain value. */
  static issue(userId: string, ttlSeconds: number): { entity: PasswordResetToken; token: string } {
    const { token, hash } = newSecretToken();
    return { entity: new PasswordResetToken(userId, hash, ttlSeconds), token };
  }

  static hash(token: string): string {
    return hashSecretToken(token);
  }
}
