/**
 * From a request-target to a file path inside the served folder, or null. The target's
 * path (RFC 9110 §4.2.1; origin-form, or absolute-form as a proxy would send it) is
 * percent-decoded once, then resolved against the folder: "..", "%2e%2e", "%2f" and
 * absolute paths all end up either inside the folder or refused. NUL bytes are refused.
 */

import { resolve, sep } from 'node:path';

/** The percent-decoded path of a request-target, without query or fragment; null when malformed. */
export function decodedPath(target: string): string | null {
  let path = target;
  if (!path.startsWith('/')) {
    try {
      path = new URL(target).pathname; // absolute-form
    } catch {
      return null;
    }
  }
  const end = path.search(/[?#]/);
  if (end >= 0) path = path.slice(0, end);
  try {
    path = decodeURIComponent(path);
  } catch {
    return null;
  }
  return path.includes('\0') ? null : path;
}

/** Whether `path` is `folder` or lies below it (both absolute and normalized). */
export function isInside(folder: string, path: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

/** The file the target names inside `root` (absolute), or null when it would be outside. */
export function resolveInside(root: string, target: string): string | null {
  const path = decodedPath(target);
  if (path === null) return null;
  const full = resolve(root, `.${sep}${path}`);
  return isInside(root, full) ? full : null;
}
