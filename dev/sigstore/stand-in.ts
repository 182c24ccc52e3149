// A local Sigstore for build provenance, hosted by the GitHub stand-in: the Actions runtime's ID-token endpoint and
// its OIDC issuer (as a GitHub Enterprise Server serves them, under /_services/token), a Fulcio CA with its CT log
// and a Rekor transparency log (the Sigstore project's own mock services, @sigstore/mock), and the trusted root that
// verifies what they issue. Nothing here reaches the public Sigstore instances.
import { createHash, createSign, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { bundleToJSON } from '@sigstore/bundle';
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog } from '@sigstore/mock';
import { DSSEBundleBuilder, FulcioSigner, RekorWitness } from '@sigstore/sign';

export const FULCIO_PATH = '/_sigstore/fulcio';
export const REKOR_PATH = '/_sigstore/rekor';
export const ISSUER_PATH = '/_services/token';
const ID_TOKEN_PATH = '/_actions/id-token';

/** The workflow run an ID token is issued for. */
export interface WorkflowRun {
  repository: string;
  workflow: string;
  ref: string;
  sha?: string;
}

type Handler = { path: string; fn: (body: string) => Promise<{ statusCode: number; response: unknown }> };

export class SigstoreStandIn {
  private readonly oidcKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private readonly oidcKid = randomBytes(8).toString('hex');
  private readonly runs = new Map<string, WorkflowRun>();
  private fulcio?: Handler;
  private rekor?: Handler;
  private root?: unknown;
  /** The CA's clock: set in the past to issue certificates that expired before Rekor logs them. */
  caClock?: Date;
  /**
   * The Date the CA reads, set once per certificate: it reads it twice (the precertificate its CT log signs,
   * then the certificate), and both must say the same time, or the SCT would not match the certificate.
   */
  private readonly caDate = new Date();
  /** Certificates are issued one at a time, so no request moves the CA's clock while another is issued. */
  private issuing: Promise<unknown> = Promise.resolve();

  private readonly baseUrl: () => string;

  constructor(baseUrl: () => string) {
    this.baseUrl = baseUrl;
  }

  get issuer(): string {
    return `${this.baseUrl()}${ISSUER_PATH}`;
  }

  get fulcioUrl(): string {
    return `${this.baseUrl()}${FULCIO_PATH}`;
  }

  get rekorUrl(): string {
    return `${this.baseUrl()}${REKOR_PATH}`;
  }

  /** The environment a runner gives a job with `id-token: write`, for this run. */
  idTokenEnv(run: WorkflowRun): Record<string, string> {
    const token = randomUUID();
    this.runs.set(token, run);
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${this.baseUrl()}${ID_TOKEN_PATH}?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: token,
    };
  }

  /** The trusted root for what this stand-in's Fulcio and Rekor issue (the agent's `sigstore.trustedRoot`). */
  async trustedRoot(): Promise<unknown> {
    await this.ready();
    return this.root;
  }

  /** Answers a request it owns; undefined when the path is not its own. */
  async answer(
    method: string,
    url: URL,
    authorization: string | undefined,
    body: Buffer,
  ): Promise<{ status: number; json: unknown } | undefined> {
    const p = url.pathname;
    if (method === 'GET' && p === `${ISSUER_PATH}/.well-known/openid-configuration`)
      return { status: 200, json: { issuer: this.issuer, jwks_uri: `${this.issuer}/.well-known/jwks` } };
    if (method === 'GET' && p === `${ISSUER_PATH}/.well-known/jwks`)
      return {
        status: 200,
        json: { keys: [{ ...this.oidcKey.publicKey.export({ format: 'jwk' }), kid: this.oidcKid, alg: 'ES256' }] },
      };
    if (method === 'GET' && p === ID_TOKEN_PATH) {
      const run = this.runs.get((authorization ?? '').replace(/^Bearer /, ''));
      if (!run) return { status: 401, json: { message: 'Bad credentials' } };
      return { status: 200, json: { value: this.idToken(run, url.searchParams.get('audience') ?? 'sigstore') } };
    }
    if (method === 'POST' && (p.startsWith(FULCIO_PATH) || p.startsWith(REKOR_PATH))) {
      await this.ready();
      const service = p.startsWith(FULCIO_PATH) ? this.fulcio! : this.rekor!;
      const rest = p.slice((p.startsWith(FULCIO_PATH) ? FULCIO_PATH : REKOR_PATH).length);
      if (rest !== service.path) return { status: 404, json: { message: 'Not Found' } };
      const call = () => service.fn(body.toString('utf8'));
      const issue = () => {
        this.caDate.setTime((this.caClock ?? new Date()).getTime());
        return call();
      };
      const answer = service === this.fulcio ? await (this.issuing = this.issuing.then(issue, issue)) : await call();
      const json = typeof answer.response === 'string' ? safeJson(answer.response) : answer.response;
      return { status: answer.statusCode, json };
    }
    return undefined;
  }

  /**
   * Build provenance for bytes with this SHA-256, as a workflow run would attest them through this stand-in's
   * Fulcio and Rekor (the Action does the same from a real process); the bundle's JSON text.
   */
  async attest(sha256: string, run: WorkflowRun, subjects = [{ name: 'gestor-plugin.zip', sha256 }]): Promise<string> {
    await this.ready();
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: {
          buildType: 'https://actions.github.io/buildtypes/workflow/v1',
          externalParameters: {
            workflow: { ref: run.ref, repository: `https://github.com/${run.repository}`, path: run.workflow },
          },
        },
        runDetails: { builder: { id: `https://github.com/${run.repository}/${run.workflow}@${run.ref}` } },
      },
    };
    const identityProvider = { getToken: async () => this.idToken(run, 'sigstore') };
    const builder = new DSSEBundleBuilder({
      signer: new FulcioSigner({ identityProvider, fulcioBaseURL: this.fulcioUrl }),
      witnesses: [new RekorWitness({ rekorBaseURL: this.rekorUrl })],
    });
    const bundle = await builder.create({
      data: Buffer.from(JSON.stringify(statement)),
      type: 'application/vnd.in-toto+json',
    });
    return JSON.stringify(bundleToJSON(bundle as Parameters<typeof bundleToJSON>[0]));
  }

  /** A GitHub Actions OIDC token for the run, with the claims Fulcio turns into the certificate. */
  private idToken(run: WorkflowRun, audience: string): string {
    const now = Math.floor(Date.now() / 1000);
    const workflowRef = `${run.repository}/${run.workflow}@${run.ref}`;
    const claims = {
      iss: this.issuer,
      aud: audience,
      sub: `repo:${run.repository}:ref:${run.ref}`,
      // What real Fulcio puts in the certificate's SAN for a GitHub Actions token (the mock reads this claim).
      job_workflow_url: `https://github.com/${workflowRef}`,
      repository: run.repository,
      repository_id: '1296269',
      repository_owner_id: '1',
      ref: run.ref,
      sha: run.sha ?? '0'.repeat(40),
      workflow: 'release',
      workflow_ref: workflowRef,
      job_workflow_ref: workflowRef,
      event_name: 'release',
      run_id: '42',
      run_attempt: '1',
      runner_environment: 'github-hosted',
      iat: now,
      nbf: now - 5,
      exp: now + 300,
    };
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signing = `${encode({ alg: 'ES256', typ: 'JWT', kid: this.oidcKid })}.${encode(claims)}`;
    const signature = createSign('SHA256')
      .update(signing)
      .sign({ key: this.oidcKey.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${signing}.${signature.toString('base64url')}`;
  }

  private ready(): Promise<void> {
    this.starting ??= this.start();
    return this.starting;
  }
  private starting?: Promise<void>;

  private async start(): Promise<void> {
    const caKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const logKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ctlog = await initializeCTLog(caKeys);
    const ca = await initializeCA(caKeys, ctlog, this.caDate);
    const tlog = await initializeTLog(this.rekorUrl, logKeys);
    this.fulcio = fulcioHandler(ca, { subjectClaim: 'job_workflow_url' }) as Handler;
    this.rekor = {
      path: '/api/v1/log/entries',
      fn: async (body) => ({ statusCode: 201, response: await tlog.log(canonicalEntry(JSON.parse(body))) }),
    };
    const spki = (key: Buffer | ArrayBufferView) => Buffer.from(key as Uint8Array).toString('base64');
    // Rekor names its log by the SHA-256 of its DER public key.
    const keyId = (key: Buffer) => createHash('sha256').update(key).digest('base64');
    const start = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
    this.root = {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: this.rekorUrl,
          hashAlgorithm: 'SHA2_256',
          publicKey: { rawBytes: spki(tlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
          logId: { keyId: keyId(tlog.publicKey) },
        },
      ],
      certificateAuthorities: [
        {
          subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
          uri: this.fulcioUrl,
          certChain: { certificates: [{ rawBytes: spki(ca.rootCertificate) }] },
          validFor: { start },
        },
      ],
      ctlogs: [
        {
          baseUrl: `${this.fulcioUrl}/ct`,
          hashAlgorithm: 'SHA2_256',
          publicKey: { rawBytes: spki(ctlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
          logId: { keyId: spki(ctlog.logID) },
        },
      ],
      timestampAuthorities: [],
    };
  }
}

/**
 * What Rekor stores for a proposed `dsse` entry (the mock logs the proposal as sent): the envelope and payload
 * hashes and the signature with its verifier, which verifiers compare with the bundle's envelope.
 */
function canonicalEntry(proposed: {
  kind: string;
  apiVersion: string;
  spec: { proposedContent?: { envelope: string; verifiers: string[] } };
}): object {
  const content = proposed.spec.proposedContent;
  if (proposed.kind !== 'dsse' || !content) return proposed;
  const envelope = JSON.parse(content.envelope) as { payload: string; signatures: Array<{ sig: string }> };
  const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
  return {
    apiVersion: proposed.apiVersion,
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(content.envelope) },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')) },
      signatures: envelope.signatures.map((s) => ({ signature: s.sig, verifier: content.verifiers[0] })),
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}
