/**
 * Files dropped onto a terminal: uploaded into the shell's current directory
 * through the contents API (chunked, with a progress notification).
 */
import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';

import { extrasContext } from './extrassettings';
import { __ } from './i18n';
import { shellQuote } from './termtext';
import { cwdOf } from './sessioncwd';

/** The contents API's chunk size here: 1 MiB of file per request. */
const CHUNK = 1024 * 1024;

/**
 * Upload `files` into the cwd of session `sessionId`; resolves with their
 * names quoted for the shell (to type at the prompt), or '' when nothing was
 * uploaded.
 */
export async function uploadFiles(
  files: File[],
  sessionId: string | undefined
): Promise<string> {
  const contents = extrasContext.services?.contents;
  const dir = contents ? await cwdOf(sessionId, 0) : null;
  if (!contents || dir === null) {
    Notification.error(
      __(
        "Cannot upload: the terminal's directory is unknown or outside the server root."
      ),
      { autoClose: 5000 }
    );
    return '';
  }
  const total = files.reduce((sum, f) => sum + f.size, 0) || 1;
  let done = 0;
  const id = Notification.emit(
    __('Uploading %1 file(s) to %2', files.length, '/' + dir),
    'in-progress',
    { progress: 0, autoClose: false }
  );
  const typed: string[] = [];
  try {
    for (const file of files) {
      const path = PathExt.join(dir, file.name);
      const chunks = Math.max(1, Math.ceil(file.size / CHUNK));
      for (let i = 0; i < chunks; i++) {
        const part = file.slice(i * CHUNK, (i + 1) * CHUNK);
        const content = await Private.toBase64(part);
        await contents.save(path, {
          type: 'file',
          format: 'base64',
          content,
          // The contents API's chunked upload: 1, 2, ... and -1 for the last.
          ...(chunks > 1 ? { chunk: i === chunks - 1 ? -1 : i + 1 } : {})
        });
        done += part.size;
        Notification.update({ id, progress: done / total });
      }
      typed.push(shellQuote(file.name));
    }
    Notification.update({
      id,
      message: __('Uploaded %1 file(s) to %2', files.length, '/' + dir),
      type: 'success',
      progress: 1,
      autoClose: 3000
    });
  } catch (reason) {
    Notification.update({
      id,
      message: __('Upload failed: %1', String(reason)),
      type: 'error',
      autoClose: false
    });
  }
  // Names relative to the shell's cwd, which is where they went.
  return typed.length ? typed.join(' ') + ' ' : '';
}

namespace Private {
  export async function toBase64(blob: Blob): Promise<string> {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }
}
