/**
 * The settings and application services the terminal extras (`extras.ts`)
 * use, one per page: the plugin fills them in when it starts.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Contents } from '@jupyterlab/services';

/** Settings the extras follow (in `jupyter-webpty:plugin`'s schema). */
export interface IExtrasSettings {
  osc52Clipboard: boolean;
  confirmMultilinePaste: boolean;
  pathLinks: boolean;
}

/** The settings' defaults (as in the schema). */
export const DEFAULT_SETTINGS: IExtrasSettings = {
  osc52Clipboard: false,
  confirmMultilinePaste: true,
  pathLinks: true
};

/** What the application lends the extras: opening paths, uploading files. */
export interface IExtrasServices {
  commands: JupyterFrontEnd['commands'];
  contents: Contents.IManager;
}

/** The page's settings and services, shared by every terminal. */
export const extrasContext: {
  settings: IExtrasSettings;
  /** Null until the plugin started: path links and drops are off then. */
  services: IExtrasServices | null;
} = { settings: { ...DEFAULT_SETTINGS }, services: null };
