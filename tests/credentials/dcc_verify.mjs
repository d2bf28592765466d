// Verifies credentials with the Digital Credentials Consortium's JavaScript stack, offline.
//
// Reads JSON from standard input: {"cases": [{"name", "credential", "documents": {url: doc},
// "now"?}], "repeat"?: N}. Every URL a case needs (DID documents, status list credentials) is in
// `documents`; contexts come from the security document loader's pinned copies
// (fetchRemoteContexts: false) and, for the CLR 2.0.1 context it lacks, the app's vendored file;
// did:key resolves offline; any other DID or URL is "not found", so nothing ever touches the
// network. With "canonize": [documents], also returns the cryptosuite's
// canonical N-Quads of each ({"error"} when it refuses one). Prints {"results": [{"name", "verified", "errors", "log"}]},
// and with "repeat" also {"rate": verifications per second of the first case, loader kept}.
import {verifyCredential} from '@digitalcredentials/vc';
import {DataIntegrityProof} from '@digitalcredentials/data-integrity';
import {cryptosuite} from '@digitalcredentials/eddsa-rdfc-2022-cryptosuite';
import {securityLoader} from '@digitalcredentials/security-document-loader';
import {checkStatus} from '@digitalcredentials/vc-bitstring-status-list';
import {readFileSync} from 'node:fs';
const {canonize} = cryptosuite;

// Contexts the security loader has no copy of, served from the app's vendored files.
const CONTEXTS = {
  'https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json': 'clr-v2p0-context-2.0.1.json'
};
const VENDORED = Object.fromEntries(Object.entries(CONTEXTS).map(([url, name]) => [url,
  JSON.parse(readFileSync(
    new URL(`../../lms_plugin/credentials/contexts/${name}`, import.meta.url), 'utf8'))]));

function loaderFor(documents) {
  const loader = securityLoader({fetchRemoteContexts: false});
  for(const [url, context] of Object.entries(VENDORED)) {
    loader.addStatic(url, context);
  }
  for(const [url, document] of Object.entries(documents || {})) {
    loader.addStatic(url, document);
    // A DID document: its verification methods are dereferenced by their own ids.
    for(const method of document.verificationMethod || []) {
      loader.addStatic(method.id, {'@context': document['@context'], ...method});
    }
  }
  // did:key resolves from the identifier itself; did:web only from the documents given above.
  const didResolver = loader.protocolHandlers.get('did');
  loader.setProtocolHandler({protocol: 'did', handler: {
    async get({url}) {
      if(url.startsWith('did:key:')) {
        return didResolver.get({url});
      }
      throw new Error(`NotFoundError: ${url} (offline: only the documents given resolve)`);
    }
  }});
  return loader.build();
}

function errorsOf(result) {
  const errors = [];
  const collect = error => {
    if(!error) {
      return;
    }
    if(Array.isArray(error)) {
      error.forEach(collect);
      return;
    }
    errors.push(String(error.message || error));
    if(error.errors) {
      collect(error.errors);
    }
    if(error.cause) {
      collect(error.cause);
    }
  };
  collect(result.error);
  for(const item of result.results || []) {
    collect(item.error);
  }
  for(const item of result.statusResult?.results || []) {
    collect(item.error);
  }
  collect(result.statusResult?.error);
  return [...new Set(errors)];
}

function prepare(testCase) {
  const options = {
    credential: testCase.credential,
    suite: new DataIntegrityProof({cryptosuite}),
    documentLoader: loaderFor(testCase.documents),
    checkStatus
  };
  if(testCase.now) {
    options.now = testCase.now;
  }
  return options;
}

async function verify(name, options) {
  try {
    const result = await verifyCredential(options);
    return {
      name,
      verified: result.verified === true,
      errors: errorsOf(result),
      log: result.log || []
    };
  } catch(error) {
    return {name, verified: false, errors: [String(error.message || error)], log: []};
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = [];
  const canonical = [];
  for(const document of input.canonize || []) {
    // The cryptosuite's own canonicalization (jsonld.js safe mode + rdf-canonize), as it signs.
    try {
      canonical.push(await canonize(document, {documentLoader: loaderFor({})}));
    } catch(error) {
      canonical.push({error: String(error.message || error)});
    }
  }
  for(const testCase of input.cases || []) {
    results.push(await verify(testCase.name, prepare(testCase)));
  }
  const output = {results, canonical};
  if(input.repeat) {
    // One loader and suite, as a verifying service would keep them.
    const options = prepare(input.cases[0]);
    for(let i = 0; i < Math.min(input.repeat, 20); ++i) {
      await verify('warm-up', options);
    }
    const started = process.hrtime.bigint();
    for(let i = 0; i < input.repeat; ++i) {
      const result = await verify('bench', options);
      if(!result.verified) {
        throw new Error(`bench verification failed: ${result.errors.join('; ')}`);
      }
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    output.rate = input.repeat / seconds;
  }
  process.stdout.write(JSON.stringify(output));
}

main().catch(error => {
  process.stderr.write(String(error.stack || error));
  process.exit(1);
});
