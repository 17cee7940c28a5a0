import { el } from './dom';

/** `/circles` (SPEC §1): the circles this server serves; empty in development mode. */
async function servedCircles(): Promise<string[]> {
  const res = await fetch('/circles', { headers: { accept: 'application/json' } });
  if (!res.ok) return [];
  const body: unknown = await res.json();
  const list = (body as { circles?: unknown } | null)?.circles;
  return Array.isArray(list) ? list.filter((c): c is string => typeof c === 'string') : [];
}

const HEX_KEY = /^(0x)?(0[23][0-9a-f]{64}|04[0-9a-f]{128})$/i;

/**
 * Fills `host` with the circle picker (`data-testid="circle"`): a list of the served circles,
 * or in development mode (any key served) a text field. `?circle=` in the page URL preselects
 * one; `onPick` gets every choice, the first one at once.
 */
export async function mountCirclePicker(
  host: HTMLElement,
  fallback: () => Promise<string>,
  onPick: (circle: string) => void,
): Promise<void> {
  const wanted = new URLSearchParams(location.search).get('circle')?.trim() ?? '';
  let circles: string[] = [];
  try {
    circles = await servedCircles();
  } catch {
    // an older server without /circles: behave as in development mode
  }
  if (circles.length > 0) {
    const select = el('select', { 'data-testid': 'circle', 'aria-label': 'circle' });
    const options = wanted && !circles.includes(wanted.toLowerCase()) ? [wanted, ...circles] : circles;
    for (const c of options) select.append(el('option', { value: c }, c));
    select.value = options.find((c) => c.toLowerCase() === wanted.toLowerCase()) ?? options[0]!;
    select.addEventListener('change', () => onPick(select.value));
    host.replaceChildren(select);
    onPick(select.value);
    return;
  }
  const input = el('input', {
    'data-testid': 'circle',
    'aria-label': 'circle public key',
    placeholder: 'circle public key (66 hex characters)',
    spellcheck: 'false',
    autocomplete: 'off',
  });
  input.value = wanted || (await fallback());
  const pick = (): void => {
    const value = input.value.trim();
    input.setCustomValidity(HEX_KEY.test(value) ? '' : 'not a secp256k1 public key');
    if (input.reportValidity()) onPick(value);
  };
  input.addEventListener('change', pick);
  host.replaceChildren(input, el('small', {}, 'development mode: any circle key'));
  pick();
}
