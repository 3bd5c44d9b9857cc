export { createHttpHandler, type HttpAppOptions, type RequestHandler } from './handler.js';
export { serveHttp, type ServeHttpOptions } from './server.js';
export { contentTypeFor } from './content-type.js';
export { resolveInside, decodedPath } from './request-path.js';
export { FileCache, type FileCacheOptions, type CachedFile } from './file-cache.js';
