// A SMART App Launch 2.x public client (standalone launch, authorization code + PKCE S256)
// and the few FHIR calls the page makes. The page is a client of the FHIR API like any
// partner: it sees exactly what the signed-in practitioner's token may see.

export const BASE = document.documentElement.dataset.fhirBase.replace(/\/$/, "");
export const CLIENT_ID = "cm-fhir-app";
const REDIRECT = new URL("./", location.href.split(/[?#]/)[0]).href;
const SCOPE = "openid fhirUser profile user/*.rs";
const SESSION = "cm-session";
const PENDING = "cm-pending";

export class SignInNeeded extends Error {}

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

async function configuration() {
  const answer = await fetch(`${BASE}/.well-known/smart-configuration`, { headers: { Accept: "application/json" } });
  if (answer.status === 404) return null; // authentication is off on this server
  if (!answer.ok) throw new Error(`smart-configuration: ${answer.status}`);
  return answer.json();
}

export async function authenticationOff() {
  return (await configuration()) === null;
}

export async function startSignIn() {
  const config = await configuration();
  const verifier = randomString(48);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = randomString(24);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, token: config.token_endpoint }));
  const query = new URLSearchParams({
    response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT, scope: SCOPE, state,
    aud: BASE, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(`${config.authorization_endpoint}?${query}`);
}

function claims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return {};
  }
}

// Back from the authorization server: the state must be ours, then the code is exchanged.
export async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", REDIRECT + location.hash);
  if (!pending || params.get("state") !== pending.state) throw new Error("state mismatch: sign-in ignored");
  if (params.has("error")) throw new Error(params.get("error_description") || params.get("error"));
  const answer = await fetch(pending.token, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: REDIRECT,
      client_id: CLIENT_ID, code_verifier: pending.verifier,
    }),
  });
  const tokens = await answer.json();
  if (!answer.ok) throw new Error(tokens.error_description || tokens.error || "token");
  const identity = claims(tokens.id_token || "");
  sessionStorage.setItem(SESSION, JSON.stringify({
    token: tokens.access_token, expires: Date.now() + 1000 * (tokens.expires_in || 0),
    fhirUser: identity.fhirUser || "", user: identity.name || identity.sub || "",
  }));
  return true;
}

export function session() {
  const value = JSON.parse(sessionStorage.getItem(SESSION) || "null");
  if (!value || value.expires < Date.now()) return null;
  return value;
}

export function signOut() {
  sessionStorage.removeItem(SESSION);
}

export async function fhir(path) {
  const current = session();
  const headers = { Accept: "application/fhir+json" };
  if (current) headers.Authorization = `Bearer ${current.token}`;
  const answer = await fetch(`${BASE}/${path}`, { headers });
  if (answer.status === 401) {
    signOut();
    throw new SignInNeeded();
  }
  const body = await answer.json();
  if (!answer.ok) {
    const text = body.issue?.[0]?.diagnostics || answer.status;
    const error = new Error(`${path.split("?")[0]}: ${text}`);
    error.status = answer.status;
    throw error;
  }
  return body;
}

// Every resource of a search (its pages followed, up to ``pages``), and the included ones.
export async function search(path, pages = 10) {
  const found = [];
  let next = path;
  for (let i = 0; next && i < pages; i++) {
    const bundle = await fhir(next);
    for (const entry of bundle.entry || []) found.push(entry.resource);
    const link = (bundle.link || []).find((l) => l.relation === "next");
    // (only this server's pages)
    next = link && link.url.startsWith(`${BASE}/`) ? link.url.slice(BASE.length + 1) : null;
  }
  return found;
}
