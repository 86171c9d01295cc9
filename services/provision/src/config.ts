/** Provisioning configuration: the common keys plus the retry tier names whose topics it creates. */
import { type CommonConfig, commonSchema } from '@hookpost/config';

export const schema = {
  ...commonSchema,
  retry: {
    tiers: {
      doc: 'Retry tier names, in order; each gets a webhooks.retry.<tier> topic.',
      format: String,
      default: '10s,100s,5m,30m,2h,5h,10h',
      env: 'RETRY_TIERS',
    },
  },
};

export interface ProvisionConfig extends CommonConfig {
  retry: { tiers: string };
}
