import { evaluate } from '../../rhai';
import { DEFAULT_IDENFY_HANDLER, DEFAULT_STRIPE_HANDLER } from '../../webhooks/default-handlers';
import { handlerScriptError, resolveHandlerScripts } from '../../webhooks/handler-scripts';
import { fakeStore } from '../support/fake-store';

const CIRCLE = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';

describe('built-in webhook handlers', () => {
  it('the Stripe handler records the event under stripe:<id> and returns a summary', () => {
    const event = {
      id: 'evt_1',
      object: 'event',
      type: 'checkout.session.completed',
      created: 1_700_000_000,
      data: { object: { id: 'cs_1', amount_total: 1200, metadata: { note: '`${x}` "quoted"' } } },
    };
    const store = fakeStore();
    const r = evaluate(DEFAULT_STRIPE_HANDLER, {
      constants: { event, CONTEXT_ID: CIRCLE, CALLER_ID: 'stripe' },
      store,
    });
    expect(r).toMatchObject({ ok: true, output: 'stripe checkout.session.completed evt_1 recorded' });
    expect(store.data.get('stripe:evt_1')).toEqual(event);
  });

  it('the iDenfy handler records the result under idenfy:<scanRef> and returns a summary', () => {
    const event = {
      clientId: 'c1',
      scanRef: 'scan-9',
      final: true,
      status: { overall: 'APPROVED', autoDocument: 'DOC_VALIDATED' },
    };
    const store = fakeStore();
    const r = evaluate(DEFAULT_IDENFY_HANDLER, {
      constants: { event, CONTEXT_ID: CIRCLE, CALLER_ID: 'idenfy' },
      store,
    });
    expect(r).toMatchObject({ ok: true, output: 'idenfy scan-9 APPROVED final=true recorded' });
    expect(store.data.get('idenfy:scan-9')).toEqual(event);
  });
});

describe('handler scripts', () => {
  it('uses the built-in handlers unless one is configured', () => {
    expect(resolveHandlerScripts({})).toEqual({
      stripe: DEFAULT_STRIPE_HANDLER,
      idenfy: DEFAULT_IDENFY_HANDLER,
    });
    expect(resolveHandlerScripts({ idenfyHandler: '"mine"' }).idenfy).toBe('"mine"');
  });

  it('refuses a configured handler that does not parse, in one line', () => {
    expect(handlerScriptError('h.rhai', 'let x = ;')).toMatch(/^h\.rhai: .*line 1/);
    expect(() => resolveHandlerScripts({ stripeHandler: 'fn (' })).toThrow(/^stripe webhook handler: /);
  });
});
