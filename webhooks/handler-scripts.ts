import { parse } from '../rhai';
import { DEFAULT_HANDLERS } from './default-handlers';
import type { ProviderName } from './providers';

/**
 * Checks that a handler script parses, so a typo fails the start with one line
 * instead of failing every event later on the worker.
 *
 * @param label - how the script is named in the message (a file name or option)
 * @param source - Rhai source
 * @returns null when it parses, else a one-line reason
 */
export function handlerScriptError(label: string, source: string): string | null {
  const parsed = parse(source);
  if (parsed.ok) return null;
  // The engine's message already carries "(line L, position P)".
  return `${label}: ${parsed.error.message.split('\n')[0]}`;
}

/**
 * The script each provider's events run: the configured one, else the built-in.
 *
 * @throws Error with a one-line message when a configured script does not parse
 */
export function resolveHandlerScripts(configured: {
  stripeHandler?: string;
  idenfyHandler?: string;
}): Record<ProviderName, string> {
  const scripts = {
    stripe: configured.stripeHandler ?? DEFAULT_HANDLERS.stripe,
    idenfy: configured.idenfyHandler ?? DEFAULT_HANDLERS.idenfy,
  };
  for (const [name, source] of Object.entries(scripts)) {
    const error = handlerScriptError(`${name} webhook handler`, source);
    if (error) throw new Error(error);
  }
  return scripts;
}
