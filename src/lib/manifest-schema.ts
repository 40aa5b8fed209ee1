/** The backup manifest's schema (see fs.ts), apart so that importing fs.ts does not load zod. */
import * as z from 'zod/mini';

export const manifestSchema = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  files: z.array(
    z.object({
      path: z.string(),
      existed: z.boolean(),
      sha256: z.nullable(z.string()),
      backup: z.nullable(z.string()),
      mode: z.optional(z.nullable(z.int())),
      /** The path was a symbolic link with this text (replaced by --force): restoring makes the link again. */
      link: z.optional(z.nullable(z.string())),
      /** Where the bytes were (the path with links resolved); the path itself: it was a file, not written through a link. */
      target: z.optional(z.string()),
    }),
  ),
});
export type BackupManifest = z.infer<typeof manifestSchema>;
