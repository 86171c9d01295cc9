/** Demo producer configuration: the common keys plus rate, count, domains and report interval. */
import { commonSchema } from '@hookpost/config';

export const schema = {
  ...commonSchema,
  demo: {
    rate: {
      doc: 'Events per second to produce (0 = as fast as possible).',
      format: 'nat',
      default: 50,
      env: 'DEMO_RATE',
    },
    count: {
      doc: 'Events to produce in all; 0 runs until stopped.',
      format: 'nat',
      default: 0,
      env: 'DEMO_COUNT',
    },
    domains: {
      doc: 'Distinct sending domains (dom-0 … dom-N-1).',
      format: 'nat',
      default: 5,
      env: 'DEMO_DOMAINS',
    },
    reportEveryMs: {
      doc: 'How often the demo prints what flowed.',
      format: 'nat',
      default: 2000,
      env: 'DEMO_REPORT_EVERY_MS',
    },
  },
};
