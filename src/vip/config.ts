// The `vip` section of the config: where the Virtual IP lives, which driver moves it and how it is announced.
import { isIP } from 'node:net';
import { z } from 'zod';

export const announceSchema = z
  .object({
    count: z.number().int().min(0).max(100).default(5),
    interval_ms: z.number().int().min(1).max(60_000).default(200),
    repeat_after_ms: z.number().int().min(0).max(3_600_000).default(5000),
    refresh_s: z.number().int().min(0).max(86_400).default(0),
  })
  .strict();

// The user's own programs for the `script` driver. status exits 0 when the VIP is present, 1 when absent.
export const scriptSchema = z
  .object({
    enable: z.string().min(1),
    disable: z.string().min(1),
    status: z.string().min(1),
    announce: z.string().min(1).optional(),
  })
  .strict();

const addressSchema = z.string().refine((s) => {
  const [ip, prefix, extra] = s.split('/');
  if (ip === undefined || prefix === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix))
    return false;
  const family = isIP(ip);
  const max = family === 4 ? 32 : family === 6 ? 128 : -1;
  return Number(prefix) <= max;
}, 'must look like IP/PREFIX, e.g. 198.51.100.10/24 or 2001:db8:51::10/64');

export const vipSchema = z
  .object({
    address: addressSchema,
    interface: z.string().min(1),
    // Linux logical sub-interface name (eth0:1); it must start with the interface name and fit IFNAMSIZ.
    label: z.string().min(1).max(15).optional(),
    driver: z.enum(['linux', 'windows', 'solaris', 'aix', 'script']).default('linux'),
    timeout_ms: z.number().int().min(1).max(120_000).default(5000),
    retries: z.number().int().min(0).max(10).default(2),
    retry_delay_ms: z.number().int().min(0).max(60_000).default(100),
    announce: announceSchema.default({ count: 5, interval_ms: 200, repeat_after_ms: 5000, refresh_s: 0 }),
    script: scriptSchema.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.driver === 'script' && v.script === undefined) {
      ctx.addIssue({ code: 'custom', path: ['script'], message: 'is required when driver is script' });
    }
    if (v.label !== undefined && v.label !== v.interface && !v.label.startsWith(`${v.interface}:`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['label'],
        message: `must be ${v.interface} or start with ${v.interface}:`,
      });
    }
  });

export type VipConfig = z.infer<typeof vipSchema>;
export type AnnounceConfig = z.infer<typeof announceSchema>;
export type VipDriverName = VipConfig['driver'];
