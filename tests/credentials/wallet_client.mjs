// A wallet built on libraries we did not write, picking a credential up from the tool over HTTP.
//
// Reads JSON from standard input: {"protocol": "openid4vci", "offer_uri"} or
// {"protocol": "vc-api" | "vc-api-2020", "exchange_url"}. The wallet makes its own did:key
// (Ed25519 Multikey, @digitalcredentials/ed25519-multikey + did-method-key) and then:
// - openid4vci: @openid4vc/openid4vci (Animo/OWF) resolves the offer by reference and the
//   issuer's metadata, gets the access token with the pre-authorized code, asks the nonce
//   endpoint for a c_nonce, signs its JWT proof (EdDSA, kid = its did:key URL) and receives the
//   credential;
// - vc-api: POSTs {} to the exchange, signs a DID Authentication presentation with
//   @digitalcredentials/vc (DataIntegrityProof, eddsa-rdfc-2022, the request's challenge and
//   domain) and POSTs it back, receiving the credential inside a presentation; vc-api-2020 signs
//   as the Learner Credential Wallet does (app/lib/exchanges.ts): a VC 1.1 presentation,
//   @digitalcredentials/ed25519-signature-2020 with an Ed25519VerificationKey2020 did:key.
// Prints {"did", "credential"}. Any failure prints {"error"} and exits 1.
//
// Where the library needs help (said in the report): the tool runs on plain http in tests, so
// the client's https-only URL check is switched off (setGlobalConfig allowInsecureUrls); the
// JWT signing callback is ours (the library leaves key handling to the wallet).
import {createHash, randomBytes} from 'node:crypto';
import {Openid4vciClient} from '@openid4vc/openid4vci';
import {clientAuthenticationAnonymous, setGlobalConfig} from '@openid4vc/oauth2';
import * as Ed25519Multikey from '@digitalcredentials/ed25519-multikey';
import {driver as didKeyDriver} from '@digitalcredentials/did-method-key';
import {createPresentation, signPresentation} from '@digitalcredentials/vc';
import {DataIntegrityProof} from '@digitalcredentials/data-integrity';
import {cryptosuite} from '@digitalcredentials/eddsa-rdfc-2022-cryptosuite';
import {securityLoader} from '@digitalcredentials/security-document-loader';
import {Ed25519Signature2020} from '@digitalcredentials/ed25519-signature-2020';
import {Ed25519VerificationKey2020} from '@digitalcredentials/ed25519-verification-key-2020';

const base64url = bytes => Buffer.from(bytes).toString('base64url');

async function newWallet() {
  const keys = didKeyDriver();
  keys.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});
  const keyPair = await Ed25519Multikey.generate();
  const {didDocument, methodFor} = await keys.fromKeyPair({verificationKeyPair: keyPair});
  const method = methodFor({purpose: 'authentication'});
  keyPair.id = method.id;
  keyPair.controller = didDocument.id;
  return {did: didDocument.id, method: method.id, keyPair};
}

async function viaOpenid4vci({offer_uri: offerUri}) {
  setGlobalConfig({allowInsecureUrls: true});
  const wallet = await newWallet();
  const client = new Openid4vciClient({
    callbacks: {
      fetch,
      hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
      generateRandom: length => randomBytes(length),
      clientAuthentication: clientAuthenticationAnonymous(),
      signJwt: async (signer, {header, payload}) => {
        if(signer.method !== 'did' || signer.didUrl !== wallet.method) {
          throw new Error(`unexpected signer ${JSON.stringify(signer)}`);
        }
        const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
        const signature = await wallet.keyPair.signer().sign({data: Buffer.from(input)});
        const jwk = await Ed25519Multikey.toJwk({keyPair: wallet.keyPair});
        return {jwt: `${input}.${base64url(signature)}`, signerJwk: jwk};
      }
    }
  });
  const credentialOffer = await client.resolveCredentialOffer(offerUri);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  const {accessTokenResponse} = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer, issuerMetadata
  });
  const [credentialConfigurationId] = credentialOffer.credential_configuration_ids;
  const {c_nonce: nonce} = await client.requestNonce({issuerMetadata});
  const {jwt} = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId,
    nonce,
    signer: {method: 'did', didUrl: wallet.method, alg: 'EdDSA'}
  });
  const {credentialResponse} = await client.retrieveCredentials({
    issuerMetadata,
    credentialConfigurationId,
    accessToken: accessTokenResponse.access_token,
    proofs: {jwt: [jwt]}
  });
  const [{credential}] = credentialResponse.credentials;
  return {did: wallet.did, credential};
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Accept: 'application/json'},
    body: JSON.stringify(body)
  });
  const answer = await response.json();
  if(!response.ok) {
    throw new Error(`${url} answered ${response.status}: ${JSON.stringify(answer)}`);
  }
  return answer;
}

// What signs the presentation: a Data Integrity suite on VC 2.0, or the Learner Credential
// Wallet's Ed25519Signature2020 on VC 1.1.
async function authenticator(lcw) {
  if(!lcw) {
    const wallet = await newWallet();
    const suite = new DataIntegrityProof({signer: wallet.keyPair.signer(), cryptosuite});
    return {did: wallet.did, suite, version: 2.0};
  }
  const key = await Ed25519VerificationKey2020.generate();
  const did = `did:key:${key.fingerprint()}`;
  key.controller = did;
  key.id = `${did}#${key.fingerprint()}`;
  return {did, suite: new Ed25519Signature2020({key}), version: 1.0};
}

async function viaVcApi({exchange_url: exchangeUrl, protocol}) {
  const wallet = await authenticator(protocol === 'vc-api-2020');
  const {verifiablePresentationRequest: request} = await postJson(exchangeUrl, {});
  const query = [].concat(request.query);
  if(!query.some(item => item.type === 'DIDAuthentication')) {
    throw new Error(`not a DID Authentication request: ${JSON.stringify(request)}`);
  }
  const documentLoader = securityLoader({fetchRemoteContexts: false}).build();
  const presentation = createPresentation({holder: wallet.did, version: wallet.version});
  const signed = await signPresentation({
    presentation,
    suite: wallet.suite,
    challenge: request.challenge,
    domain: request.domain,
    documentLoader
  });
  const {verifiablePresentation} = await postJson(exchangeUrl, {verifiablePresentation: signed});
  const [credential] = [].concat(verifiablePresentation.verifiableCredential);
  return {did: wallet.did, credential};
}

let input = '';
for await (const chunk of process.stdin) {
  input += chunk;
}
const task = JSON.parse(input);
try {
  const result = task.protocol.startsWith('vc-api') ?
    await viaVcApi(task) : await viaOpenid4vci(task);
  process.stdout.write(JSON.stringify(result));
} catch(error) {
  process.stdout.write(JSON.stringify({error: String(error.stack || error)}));
  process.exitCode = 1;
}
