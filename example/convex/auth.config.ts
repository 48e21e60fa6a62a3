// Lets Convex accept Kinde's ID tokens, so ctx.auth.getUserIdentity().subject is the Kinde user id (kp_…).
// KINDE_ISSUER_URL is your Kinde domain (e.g. https://acme.kinde.com); KINDE_CLIENT_ID is your Kinde app's client id.
export default {
  providers: [
    {
      domain: process.env.KINDE_ISSUER_URL!,
      applicationID: process.env.KINDE_CLIENT_ID!,
    },
  ],
};
