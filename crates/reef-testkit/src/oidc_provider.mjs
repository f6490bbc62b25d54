// An OpenID Connect provider for reef's tests: oidc-provider (OpenID Certified) with one
// confidential client, accounts and their groups read from a JSON file at every use (so a test
// can change a user's groups), JWT access tokens for one audience (resource indicators), and
// an RS256 signing key generated at each start (a new key id each time, as a key rotation),
// whose PKCS#8 form is written out so that a test can
// sign tokens the provider would not issue (expired, for another audience, ...).
//
// Environment: OIDC_PROVIDER (the package's lib/index.js), OIDC_PORT, OIDC_CONFIG (a JSON
// file: {client_id, client_secret, redirect_uris, audience, accounts: {id: {groups: [...]}}}),
// OIDC_KEY_OUT (where to write {kid, pkcs8}: the signing key, PKCS#8 DER in base64).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const { default: Provider } = await import(process.env.OIDC_PROVIDER);
const read = () => JSON.parse(readFileSync(process.env.OIDC_CONFIG, 'utf8'));
const config = read();
const issuer = `http://127.0.0.1:${process.env.OIDC_PORT}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `reef-test-${randomUUID().slice(0, 8)}`, alg: 'RS256', use: 'sig' };
writeFileSync(process.env.OIDC_KEY_OUT, JSON.stringify({
  kid: jwk.kid,
  pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
}));

const groupsOf = (id) => read().accounts[id]?.groups ?? [];

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    // Native: a loopback redirect URI matches whatever port the CLI listens on (RFC 8252).
    application_type: 'native',
    redirect_uris: config.redirect_uris,
    grant_types: ['authorization_code', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  async findAccount(ctx, id) {
    if (!read().accounts[id]) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email: `${id}@example.com`, groups: groupsOf(id) };
      },
    };
  },
  claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'email', 'groups'],
  pkce: { required: () => true },
  // The ID token carries the claims itself rather than leaving them to the userinfo endpoint.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'openid profile email groups api',
        audience: resource,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 300,
      }),
    },
  },
  async extraTokenClaims(ctx, token) {
    if (!token.accountId) return undefined;
    return { groups: groupsOf(token.accountId), preferred_username: token.accountId };
  },
});
provider.listen(Number(process.env.OIDC_PORT), '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
