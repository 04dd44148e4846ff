// Passkeys (WebAuthn) for Tessera's pages — the hosted sign-in and the account center. The
// server's options carry binary fields as base64url; the browser wants ArrayBuffers, and its
// answer goes back as base64url again. The browser's own refusals (NotAllowedError,
// InvalidStateError, …) are thrown as they are: each page words them in its language.
"use strict";

window.TesseraWebAuthn = (() => {
  const supported = () => Boolean(window.PublicKeyCredential && navigator.credentials);

  function fromB64url(text) {
    const b64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  }

  function toB64url(buffer) {
    if (!buffer) return null;
    const bytes = new Uint8Array(buffer);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  const withIds = (list) => (list || []).map((c) => ({ ...c, id: fromB64url(c.id) }));
  const extensions = (cred) => (cred.getClientExtensionResults ? cred.getClientExtensionResults() : {});

  // A registration: the server's creation options → the credential as JSON.
  async function create(options) {
    const pk = { ...options.publicKey };
    pk.challenge = fromB64url(pk.challenge);
    pk.user = { ...pk.user, id: fromB64url(pk.user.id) };
    pk.excludeCredentials = withIds(pk.excludeCredentials);
    const cred = await navigator.credentials.create({ publicKey: pk });
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: typeof r.getTransports === "function" ? r.getTransports() : undefined,
      },
      extensions: extensions(cred),
    };
  }

  // An assertion: the server's request options → the answer as JSON.
  async function get(options) {
    const pk = { ...options.publicKey };
    pk.challenge = fromB64url(pk.challenge);
    pk.allowCredentials = withIds(pk.allowCredentials);
    const cred = await navigator.credentials.get({ publicKey: pk });
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: toB64url(r.userHandle),
      },
      extensions: extensions(cred),
    };
  }

  return Object.freeze({ supported, create, get });
})();
