// The S3 side of the tests: a real S3 protocol server (s3rver) behind a front that
//   - verifies every request's AWS Signature V4 with AWS's own signer (@smithy/signature-v4, the
//     AWS SDK's implementation) and the body's x-amz-content-sha256, answering 403
//     SignatureDoesNotMatch / 400 XAmzContentSHA256Mismatch as S3 does (s3rver checks nothing);
//   - adds what s3rver 3.7 lacks and Strata relies on: conditional writes (If-None-Match: * on
//     PUT and CompleteMultipartUpload, 412 PreconditionFailed when the key exists),
//     AbortMultipartUpload and ListMultipartUploads;
//   - injects faults on demand (status codes such as 500/503 SlowDown, hangs, dropped
//     connections mid-body, answers lost after the request took effect or cut halfway), set through
//     POST /__control/faults.
//
// Usage: node --openssl-legacy-provider front.cjs --dir <data dir> [--port N] [--bucket B]... ; prints one JSON line
// {"port": N} once listening. (s3rver's list continuation tokens use DES, which Node 17+ only
// has with --openssl-legacy-provider.) Credentials: S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY.
'use strict';

const http = require('node:http');
const crypto = require('node:crypto');
const path = require('node:path');

const modules = process.env.STRATA_S3_HARNESS_MODULES || path.join(__dirname, '..', '..', 'third_party', 's3', 'node_modules');
const S3rver = require(path.join(modules, 's3rver'));
const { SignatureV4 } = require(path.join(modules, '@smithy/signature-v4'));
const { Sha256 } = require(path.join(modules, '@aws-crypto/sha256-js'));

const args = process.argv.slice(2);
function flag(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}
const dir = flag('--dir');
const port = Number(flag('--port', '0'));
const buckets = args.flatMap((a, i) => (a === '--bucket' ? [args[i + 1]] : []));
const accessKey = process.env.S3_TEST_ACCESS_KEY || 'strata-test-key';
const secretKey = process.env.S3_TEST_SECRET_KEY || 'strata-test-secret';
if (!dir && !args.includes('--check-vectors')) {
  console.error('front.cjs: --dir is required');
  process.exit(2);
}

// ---- state ---------------------------------------------------------------------------------

// Fault rules: {method, path (substring), query (substring), action: status|hang|drop, status,
// code, times}. The first matching rule with times left applies.
let faults = [];
// Multipart uploads in progress: uploadId -> {bucket, key, initiated}.
const uploads = new Map();
const stats = { requests: 0, rejected_signatures: 0, faults: 0, by_method: {} };
// Writes to one key run one at a time, so that a conditional check and its write are atomic.
const keyLocks = new Map();
async function withKeyLock(key, fn) {
  const prev = keyLocks.get(key) || Promise.resolve();
  let release;
  const mine = new Promise((r) => (release = r));
  keyLocks.set(key, prev.then(() => mine));
  await prev;
  try {
    return await fn();
  } finally {
    release();
    if (keyLocks.get(key) === mine) keyLocks.delete(key);
  }
}

// ---- helpers -------------------------------------------------------------------------------

function xmlError(res, status, code, message) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseQuery(raw) {
  const query = {};
  if (!raw) return query;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    if (k in query) {
      query[k] = [].concat(query[k], v);
    } else {
      query[k] = v;
    }
  }
  return query;
}

// Recomputes the request's signature with AWS's signer; null when it matches, else the reason.
// `keys` are the credentials the server knows ({accessKey, secretKey}).
async function checkSignature(req, rawPath, rawQuery, body, keys = { accessKey, secretKey }) {
  const auth = req.headers['authorization'];
  if (!auth) return 'no Authorization header';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
    auth,
  );
  if (!m) return 'malformed Authorization header: ' + auth.replace(/Signature=.*/, 'Signature=...');
  const [, akid, day, region, service, signedHeaders, signature] = m;
  if (akid !== keys.accessKey) return 'unknown access key';
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate || amzDate.slice(0, 8) !== day) return 'x-amz-date is missing or not the credential day';
  const payload = req.headers['x-amz-content-sha256'];
  if (!payload && service === 's3') return 'no x-amz-content-sha256 header';
  if (payload && payload !== 'UNSIGNED-PAYLOAD') {
    const actual = crypto.createHash('sha256').update(body).digest('hex');
    if (actual !== payload) return 'content-sha256';
  }
  const headers = {};
  for (const name of signedHeaders.split(';')) {
    const v = req.headers[name];
    if (v === undefined) return `signed header ${name} is missing`;
    headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const signer = new SignatureV4({
    credentials: { accessKeyId: keys.accessKey, secretAccessKey: keys.secretKey, sessionToken: req.headers['x-amz-security-token'] },
    region,
    service,
    sha256: Sha256,
    uriEscapePath: service !== 's3',  // S3 alone signs the path as sent, without normalizing it
    applyChecksum: false,
  });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: headers.host, path: rawPath, query: parseQuery(rawQuery), headers },
    { signingDate },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization || signed.headers.Authorization)[1];
  return expected === signature ? null : 'signature';
}

function matchFault(req, rawPath, rawQuery) {
  for (const f of faults) {
    if (f.times !== undefined && f.times <= 0) continue;
    if (f.method && f.method !== req.method) continue;
    if (f.path && !rawPath.includes(f.path)) continue;
    if (f.query && !rawQuery.includes(f.query)) continue;
    if (f.times !== undefined) f.times -= 1;
    return f;
  }
  return null;
}

function forward(req, rawUrl, body, s3Port) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    delete headers['if-none-match'];  // handled here (s3rver would ignore it on writes)
    // Checked here; s3rver only knows its own built-in account, and takes anonymous requests.
    delete headers['authorization'];
    delete headers['x-amz-security-token'];
    headers['content-length'] = String(body.length);
    const up = http.request({ host: '127.0.0.1', port: s3Port, method: req.method, path: rawUrl, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    up.on('error', reject);
    up.end(body);
  });
}

async function exists(bucket, key, s3Port) {
  const r = await new Promise((resolve, reject) => {
    const q = http.request(
      { host: '127.0.0.1', port: s3Port, method: 'HEAD', path: `/${bucket}/${key}` },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    q.on('error', reject);
    q.end();
  });
  return r === 200;
}

function reply(res, r, method) {
  const headers = { ...r.headers };
  delete headers['transfer-encoding'];
  // A HEAD answer's length is the object's, not its (empty) body's.
  if (method !== 'HEAD') headers['content-length'] = String(r.body.length);
  res.writeHead(r.status, headers);
  res.end(r.body);
}

// ---- the front -----------------------------------------------------------------------------

async function handle(req, res, s3Port) {
  const rawUrl = req.url;
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);

  if (rawPath.startsWith('/__control/')) {
    const body = await readBody(req);
    if (rawPath === '/__control/faults' && req.method === 'POST') {
      faults = JSON.parse(body.toString() || '[]');
      res.writeHead(204).end();
    } else if (rawPath === '/__control/stats') {
      const out = JSON.stringify({ ...stats, uploads: [...uploads.entries()].map(([id, u]) => ({ id, ...u })) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(out);
    } else {
      res.writeHead(404).end();
    }
    return;
  }

  stats.requests += 1;
  stats.by_method[req.method] = (stats.by_method[req.method] || 0) + 1;
  const fault = matchFault(req, rawPath, rawQuery);
  if (fault && fault.action === 'drop') {
    // Read part of the body (or none), then cut the connection without an answer.
    stats.faults += 1;
    req.once('data', () => req.socket.destroy());
    req.once('end', () => req.socket.destroy());
    return;
  }
  const body = await readBody(req);
  const loseAnswer = fault && fault.action === 'lose_answer';
  const cutBody = fault && fault.action === 'cut_body';
  if (fault && !loseAnswer && !cutBody) {
    stats.faults += 1;
    if (fault.action === 'hang') {
      setTimeout(() => req.socket.destroy(), fault.ms || 60000);
      return;
    }
    return xmlError(res, fault.status || 500, fault.code || 'InternalError', 'injected by the test harness');
  }

  const bad = await checkSignature(req, rawPath, rawQuery, body);
  if (bad === 'content-sha256') {
    stats.rejected_signatures += 1;
    return xmlError(res, 400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match');
  }
  if (bad) {
    stats.rejected_signatures += 1;
    return xmlError(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match: ' + bad);
  }

  const parts = rawPath.split('/').filter((p, i) => i > 0);
  const bucket = parts[0];
  const key = decodeURIComponent(parts.slice(1).join('/'));
  const query = parseQuery(rawQuery);

  // ListMultipartUploads: GET /bucket?uploads
  if (req.method === 'GET' && key === '' && 'uploads' in query) {
    const prefix = query.prefix || '';
    const items = [...uploads.entries()]
      .filter(([, u]) => u.bucket === bucket && u.key.startsWith(prefix))
      .map(([id, u]) => `<Upload><Key>${u.key}</Key><UploadId>${id}</UploadId><Initiated>${u.initiated}</Initiated></Upload>`)
      .join('');
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>${bucket}</Bucket><IsTruncated>false</IsTruncated>${items}</ListMultipartUploadsResult>`;
    return reply(res, { status: 200, headers: { 'content-type': 'application/xml' }, body: Buffer.from(xml) });
  }
  // AbortMultipartUpload: DELETE /bucket/key?uploadId=
  if (req.method === 'DELETE' && 'uploadId' in query) {
    if (!uploads.has(query.uploadId)) return xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist');
    uploads.delete(query.uploadId);
    res.writeHead(204).end();
    return;
  }

  const conditional = req.headers['if-none-match'] === '*';
  const isWrite = req.method === 'PUT' || (req.method === 'POST' && 'uploadId' in query);
  const run = async () => {
    if (conditional && isWrite && (await exists(bucket, parts.slice(1).join('/'), s3Port))) {
      return xmlError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    if (req.method === 'POST' && 'uploadId' in query && !uploads.has(query.uploadId)) {
      return xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist');
    }
    if (req.method === 'PUT' && 'uploadId' in query && !uploads.has(query.uploadId)) {
      return xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist');
    }
    const r = await forward(req, rawUrl, body, s3Port);
    if (req.method === 'POST' && 'uploads' in query && r.status === 200) {
      const id = /<UploadId>([^<]+)<\/UploadId>/.exec(r.body.toString());
      if (id) uploads.set(id[1], { bucket, key, initiated: new Date().toISOString() });
    }
    if (req.method === 'POST' && 'uploadId' in query && r.status === 200) uploads.delete(query.uploadId);
    if (cutBody && r.body.length > 1) {
      // Half the answer's body arrives, then the connection drops.
      stats.faults += 1;
      const headers = { ...r.headers, 'content-length': String(r.body.length) };
      delete headers['transfer-encoding'];
      res.writeHead(r.status, headers);
      res.write(r.body.subarray(0, Math.floor(r.body.length / 2)), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    if (loseAnswer) {
      // The request took effect, but its answer never arrives.
      stats.faults += 1;
      req.socket.destroy();
      return;
    }
    return reply(res, r, req.method);
  };
  return isWrite ? withKeyLock(`${bucket}/${key}`, run) : run();
}

// AWS's published SigV4 examples, run through checkSignature: each must pass as published and
// fail with one character of its signature changed. Exit status 0 when all do.
async function checkVectors() {
  const vectors = [
    {
      // The SigV4 test suite's get-vanilla.
      name: 'get-vanilla',
      keys: { accessKey: 'AKIDEXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      method: 'GET',
      url: '/',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      },
      body: '',
    },
    {
      // The S3 documentation's "GET Object" example (a Range request).
      name: 's3-get-object',
      keys: { accessKey: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      method: 'GET',
      url: '/test.txt',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'x-amz-date': '20130524T000000Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      },
      body: '',
    },
  ];
  let failed = 0;
  for (const v of vectors) {
    const q = v.url.indexOf('?');
    const rawPath = q < 0 ? v.url : v.url.slice(0, q);
    const rawQuery = q < 0 ? '' : v.url.slice(q + 1);
    const good = await checkSignature({ method: v.method, headers: v.headers }, rawPath, rawQuery, Buffer.from(v.body), v.keys);
    const tampered = { ...v.headers, authorization: v.headers.authorization.replace(/.$/, (c) => (c === '0' ? '1' : '0')) };
    const bad = await checkSignature({ method: v.method, headers: tampered }, rawPath, rawQuery, Buffer.from(v.body), v.keys);
    const ok = good === null && bad === 'signature';
    if (!ok) failed += 1;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${v.name}${good ? ': ' + good : ''}${bad !== 'signature' ? ' (tampered: ' + bad + ')' : ''}`);
  }
  process.exit(failed ? 1 : 0);
}

async function main() {
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port: s3Port } = await s3.run();
  const server = http.createServer((req, res) => {
    handle(req, res, s3Port).catch((e) => {
      if (!res.headersSent) xmlError(res, 500, 'InternalError', String(e && e.message));
    });
  });
  server.keepAliveTimeout = 5000;
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  });
  const stop = () => {
    server.close();
    s3.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

(args.includes('--check-vectors') ? checkVectors() : main()).catch((e) => {
  console.error('front.cjs:', e);
  process.exit(1);
});
