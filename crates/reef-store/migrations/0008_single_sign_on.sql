-- Single sign-on. A user created from an OpenID Connect identity is linked to it by the
-- issuer and the subject (`sub`), which the issuer never reuses; the login name may change.
CREATE TABLE user_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- Logins under way: what the authorization code's exchange needs, kept by the server (any
-- replica may finish it), used once, and gone after a few minutes. The PKCE verifier is sealed
-- under the master key.
CREATE TABLE sso_logins (
    state           TEXT PRIMARY KEY,
    sealed_verifier TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);
