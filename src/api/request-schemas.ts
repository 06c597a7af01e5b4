import { z } from 'zod';
import { parseCidr } from '../config/cidr.js';
import { MAX_DURATION_MS, parseDuration } from '../config/duration.js';

/** Bodies the admin API accepts, validated once at the boundary. Unknown fields are refused, like in the config. */
const actor = z.string().min(1).max(200).optional();

export const deployBody = z.strictObject({
  // Only its type here: the admin route checks the version grammar and answers VERSION_INVALID naming the rule.
  version: z.string(),
  slot: z.enum(['auto', 'blue', 'green']).optional(),
  autoSwitch: z.boolean().optional(),
  autoCleanup: z.boolean().optional(),
  skipHealth: z.boolean().optional(),
  actor,
});

/** `POST /api/v1/deploys`: a multi-service deploy (deploy --all). */
export const deployWaveBody = z.strictObject({
  version: deployBody.shape.version,
  services: z.array(z.string().min(1).max(200)).min(1).max(500).optional(),
  autoSwitch: z.boolean().optional(),
  autoCleanup: z.boolean().optional(),
  skipHealth: z.boolean().optional(),
  actor,
});

/** `force` + `reason`: past an applied contract migration anyway (the reason is recorded). */
const override = { force: z.boolean().optional(), reason: z.string().min(1).max(500).optional() };
export const switchBody = z.strictObject({ slot: z.enum(['blue', 'green']), actor, ...override });
export const rollbackBody = z.strictObject({ to: z.string().min(1).max(200).optional(), actor, ...override });
export const actorBody = z.strictObject({ actor });
export const promoteBody = z.strictObject({ full: z.boolean().optional(), actor });

/** Longest maintenance message shown to users; a page, not a document. */
export const MAINTENANCE_MESSAGE_MAX = 500;
/** Most CIDR blocks in a maintenance allow list. */
export const MAINTENANCE_ALLOW_MAX = 32;

/** `POST /api/v1/services/:name/maintenance`: `retryAfter` is a duration (`10m`) or seconds, sent as whole seconds. */
export const maintenanceBody = z.strictObject({
  on: z.boolean(),
  message: z.string().max(MAINTENANCE_MESSAGE_MAX).optional(),
  retryAfter: z
    .union([z.number(), z.string().max(32)])
    .transform((value, ctx) => {
      const parsed = parseDuration(value);
      if (!parsed.ok || parsed.ms < 1000) {
        ctx.addIssue({ code: 'custom', message: parsed.ok ? 'expected at least 1s' : parsed.expected });
        return z.NEVER;
      }
      return Math.min(Math.ceil(parsed.ms / 1000), Math.floor(MAX_DURATION_MS / 1000));
    })
    .optional(),
  allow: z
    .array(
      z
        .string()
        .max(64)
        .transform((value, ctx) => {
          const parsed = parseCidr(value);
          if (!parsed.ok) {
            ctx.addIssue({ code: 'custom', message: parsed.expected });
            return z.NEVER;
          }
          return value.trim();
        }),
    )
    .max(MAINTENANCE_ALLOW_MAX)
    .optional(),
  actor,
});

export type DeployBody = z.infer<typeof deployBody>;
