import type { ProviderName } from './providers';

/**
 * The built-in Stripe handler: records the event in the circle store under
 * `stripe:<event id>` and returns a one-line summary. The event arrives as the
 * constant `event` (task input), never spliced into this source.
 */
export const DEFAULT_STRIPE_HANDLER = `let id = event["id"];
store_set(\`stripe:\${id}\`, event);
\`stripe \${event["type"]} \${id} recorded\`
`;

/**
 * The built-in iDenfy handler: records the result under `idenfy:<scanRef>` (a
 * later status of the same scan replaces the earlier one) and returns a
 * one-line summary.
 */
export const DEFAULT_IDENFY_HANDLER = `let scan_ref = event["scanRef"];
store_set(\`idenfy:\${scan_ref}\`, event);
\`idenfy \${scan_ref} \${event["status"]["overall"]} final=\${event["final"]} recorded\`
`;

/** Built-in handler source per provider. */
export const DEFAULT_HANDLERS: Readonly<Record<ProviderName, string>> = Object.freeze({
  stripe: DEFAULT_STRIPE_HANDLER,
  idenfy: DEFAULT_IDENFY_HANDLER,
});
