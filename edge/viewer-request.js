// CloudFront Function (runtime cloudfront-js-2.0), viewer request, on every behaviour of the media
// distribution. CloudFront has already checked the signed URL (trusted key group: signature,
// Resource, DateLessThan, DateGreaterThan, IpAddress) before this runs; this adds revocation.
//
// Every agency URL names its link request in a `link` query parameter that the signed Resource
// covers, so it cannot be removed or swapped without breaking the signature. A link whose id is a
// key of the KeyValueStore (written by the API on DELETE, incident close or agency disabled) is
// refused. Agency routes (/footage/, /live/, /media/links/) require a link; other signed media
// pass on CloudFront's check alone. The local media edge runs this same file under Node.
// KeyValueStore writes reach the edge locations within seconds (eventually consistent), so in
// the cloud a revoked link stops within that propagation time; locally on the next request.
import cf from 'cloudfront';

const kvsHandle = cf.kvs();
const LINK_ID = /^vl-[0-9a-f]{16}$/;
const AGENCY_ROUTES = ['/footage/', '/live/', '/media/links/'];

function refuse(reason, link) {
    // readable by players in other origins' pages (the console's hls.js), as the media answers are
    var headers = {
        'content-type': { value: 'application/json' },
        'cache-control': { value: 'no-store' },
        'x-edge-refusal': { value: reason },
        'access-control-allow-origin': { value: '*' },
        'access-control-expose-headers': { value: 'x-edge-refusal' }
    };
    if (link) {
        headers['x-edge-link'] = { value: link };
    }
    return {
        statusCode: 403,
        statusDescription: 'Forbidden',
        headers: headers,
        body: { encoding: 'text', data: JSON.stringify({ error: { code: 'forbidden', message: reason } }) }
    };
}

function agencyRoute(uri) {
    for (var i = 0; i < AGENCY_ROUTES.length; i++) {
        if (uri.startsWith(AGENCY_ROUTES[i])) {
            return true;
        }
    }
    return false;
}

async function handler(event) {
    var request = event.request;
    var param = (request.querystring || {}).link;
    if (!param) {
        return agencyRoute(request.uri) ? refuse('revoked: no link named') : request;
    }
    if (param.multiValue || !LINK_ID.test(param.value)) {
        return refuse('revoked: malformed link');
    }
    var revoked;
    try {
        revoked = await kvsHandle.exists(param.value);
    } catch (err) {
        return refuse('revoked: revocation list unavailable', param.value); // fail closed
    }
    if (revoked) {
        return refuse('revoked: video-link request revoked', param.value);
    }
    // the live-playlist origin signs segment URLs for this edge's own address
    request.headers['x-edge-host'] = { value: event.context.distributionDomainName };
    return request;
}
