/**
 * `cutover/openfeature`: the OpenFeature provider for cutover flags.
 * Needs `@openfeature/server-sdk` (an optional peer dependency) next to it.
 */
export { CutoverProvider } from './cutover-provider.js';
export type { CutoverProviderOptions } from './cutover-provider.js';
export { toResolutionDetails } from './resolution-details.js';
