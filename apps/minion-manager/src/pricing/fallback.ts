/**
 * Bundled on-demand prices (USD per hour, Linux, shared tenancy, no pre-installed software), used only
 * when the Pricing API cannot answer (no permission, no network to us-east-1, throttled). A type or
 * region missing here is simply unknown, and an unknown price steers the group to on-demand.
 * Source: the AWS public price list for us-east-1, checked 2026-11.
 */
export const FALLBACK_ON_DEMAND: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'us-east-1': {
    't3.medium': 0.0416,
    't3.large': 0.0832,
    't3.xlarge': 0.1664,
    'm5.large': 0.096,
    'm5.xlarge': 0.192,
    'm5.2xlarge': 0.384,
    'm5.4xlarge': 0.768,
    'm5a.large': 0.086,
    'm5a.xlarge': 0.172,
    'm6i.large': 0.096,
    'm6i.xlarge': 0.192,
    'm6a.large': 0.0864,
    'm7i.large': 0.1008,
    'c5.large': 0.085,
    'c5.xlarge': 0.17,
    'c5.2xlarge': 0.34,
    'c6i.large': 0.085,
    'c6i.xlarge': 0.17,
    'r5.large': 0.126,
    'r5.xlarge': 0.252,
    'r6i.large': 0.126,
  },
};
