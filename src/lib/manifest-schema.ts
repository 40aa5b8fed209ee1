/** The backup manifest's schema (see fs.ts), apart so that importing fs.ts does not load zod. */
import { z } from 'zod';

export const manifestSchema = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  files: z.array(
    z.object({
      path: z.string(),
      existed: z.boolean(),
      sha256: z.string().nullable(),
      backup: z.string().nullable(),
      mode: z.number().int().nullable().optional(),
    }),
  ),
});
export type BackupManifest = z.infer<typeof manifestSchema>;
