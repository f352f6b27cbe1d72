// Payment client for leaky-app. The keys below are FAKE (generated for the wasmci example).
import Stripe from 'stripe';

const stripe = new Stripe('sk_live_HYoY5xjZogupGdc41rv9hq5S', { apiVersion: '2024-06-20' });

// Service-to-service token for the invoicing API.
const INVOICING_JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyIsImlhdCI6MTczMDAwMDAwMCwicm9sZSI6ImFkbWluIn0.RBmiZDfH-xxxf7ZDOQEnCzl8epa1Aqr01zycUc1R0IQ';

export const npmrc = '//registry.npmjs.org/:_authToken=npm_zBkGpyOaOKQZ1VJJTflJdH7kKk3bEj0HoUfC';

export async function charge(customer, cents) {
  const res = await fetch('https://invoicing.leaky-app.test/v1/charges', {
    method: 'POST',
    headers: { authorization: `Bearer ${INVOICING_JWT}` },
    body: JSON.stringify({ customer, cents }),
  });
  return stripe.charges.create({ amount: cents, currency: 'eur', customer, metadata: await res.json() });
}
