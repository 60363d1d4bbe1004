"""Pay checkout (docs/payments.md): Stripe, the holds queue and the checkout
service that ties them to the order writer."""
