import { z } from 'zod';

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

export type DeployBody = z.infer<typeof deployBody>;
