// The `vip` section of the config: where the Virtual IP lives and how it is announced.
import { z } from 'zod';

export const announceSchema = z
  .object({
    count: z.number().int().min(0).max(100).default(5),
    interval_ms: z.number().int().min(1).max(60_000).default(200),
    repeat_after_ms: z.number().int().min(0).max(3_600_000).default(5000),
    refresh_s: z.number().int().min(0).max(86_400).default(0),
  })
  .strict();

export const vipSchema = z
  .object({
    address: z.string().min(1),
    interface: z.string().min(1),
    label: z.string().min(1).optional(),
    driver: z.enum(['linux', 'windows', 'solaris', 'aix', 'script']).default('linux'),
    timeout_ms: z.number().int().min(1).max(120_000).default(5000),
    retries: z.number().int().min(0).max(10).default(2),
    announce: announceSchema.default({ count: 5, interval_ms: 200, repeat_after_ms: 5000, refresh_s: 0 }),
  })
  .strict();

export type VipConfig = z.infer<typeof vipSchema>;
