// Runs a CloudFront Function (cloudfront-js-2.0) under Node for the local media edge and tests.
// JSON lines on stdin/stdout: {"type":"invoke","event":{...}} → {"type":"result","result":…,
// "elapsed_ms":…,"kvs_wait_ms":…}; the function's `cloudfront` KeyValueStore handle asks back
// with {"type":"kvs","op":"exists"|"get","key":…} and waits for {"type":"kvs-reply",…}.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';

let waiting = null;
let kvsWait = 0;

function ask(op, key) {
    const asked = performance.now();
    process.stdout.write(JSON.stringify({ type: 'kvs', op, key }) + '\n');
    return new Promise((resolve, reject) => {
        waiting = (reply) => {
            kvsWait += performance.now() - asked;
            if (reply.error) {
                reject(new Error(reply.error));
            } else {
                resolve(reply.value);
            }
        };
    });
}

globalThis.__cloudfront = {
    kvs() {
        return {
            exists: (key) => ask('exists', key),
            get: async (key, options) => {
                const value = await ask('get', key);
                if (value === null || value === undefined) {
                    throw new Error(`key ${key} not found`);
                }
                return options && options.format === 'json' ? JSON.parse(value) : value;
            },
        };
    },
};

const source = readFileSync(process.argv[2], 'utf8');
const patched = source.replace(/^import\s+cf\s+from\s+['"]cloudfront['"];?/m, 'const cf = globalThis.__cloudfront;')
    + '\nexport { handler };\n';
const fn = await import('data:text/javascript;base64,' + Buffer.from(patched).toString('base64'));

async function invoke(event) {
    kvsWait = 0;
    const started = performance.now();
    let result;
    try {
        result = { type: 'result', result: await fn.handler(event) };
    } catch (err) {
        result = { type: 'result', error: String(err) };
    }
    result.elapsed_ms = performance.now() - started;
    result.kvs_wait_ms = kvsWait;
    process.stdout.write(JSON.stringify(result) + '\n');
}

createInterface({ input: process.stdin }).on('line', (line) => {
    const message = JSON.parse(line);
    if (message.type === 'invoke') {
        invoke(message.event);
    } else if (message.type === 'kvs-reply' && waiting) {
        const resolve = waiting;
        waiting = null;
        resolve(message);
    }
});
process.stdout.write(JSON.stringify({ type: 'ready' }) + '\n');
